package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	controlplanev1alpha1 "github.com/dcn-ssu/lkaas/api/controlplane/v1alpha1"
	infrastructurev1alpha1 "github.com/dcn-ssu/lkaas/api/infrastructure/v1alpha1"
)

// capiClusterNameLabel is the label CAPI's ClusterCache needs on a kubeconfig Secret: its
// managers cache only the Secrets that carry it.
const capiClusterNameLabel = "cluster.x-k8s.io/cluster-name"

var existingClusterGVK = infrastructurev1alpha1.GroupVersion.WithKind(infrastructurev1alpha1.ExistingClusterKind)

// existingAddons brings an existing cluster's add-ons to what Git says: the render (its CAPI
// Cluster, its ExistingCluster and the shared add-on objects, or nothing when it has no
// add-ons) is applied as for any cluster, through the Fleet's account, and what a previous
// render wrote and this one does not is deleted. It returns nil when the cluster has no
// add-ons and L-KaaS wrote nothing for it. A paused cluster is rendered, not applied. cfg, the
// cluster's kubeconfig, may be nil only when the render has no representation to write.
func (r *ClusterReconciler) existingAddons(ctx context.Context, cluster *automationv1alpha1.Cluster, patcher *clusterPatcher, cfg *rest.Config, paused bool) (*desiredState, error) {
	if cluster.Spec.Network == nil && len(cluster.Spec.Software) == 0 && len(appliedRecord(cluster)) == 0 {
		return nil, nil
	}
	desired, err := r.render(ctx, cluster)
	if err != nil {
		return nil, err
	}
	desired.existing = true
	for _, o := range desired.objects {
		if o.GroupVersionKind() != existingClusterGVK {
			continue
		}
		if cfg == nil {
			return nil, errors.New("no kubeconfig to take the existing cluster's endpoint from")
		}
		host, port, err := endpointOf(cfg)
		if err != nil {
			return nil, &stalledError{fmt.Errorf("its kubeconfig Secret: %w", err)}
		}
		// From the kubeconfig, not from Git: CAPI copies it to the CAPI Cluster.
		_ = unstructured.SetNestedMap(o.Object, map[string]any{"host": host, "port": int64(port)}, "spec", "controlPlaneEndpoint")
	}
	sum := sha256.Sum256([]byte(cluster.Status.RenderHash + "\x00" + desired.hash))
	cluster.Status.RenderHash = hex.EncodeToString(sum[:8])
	cluster.Status.AppliedRenderHash = cluster.Status.RenderHash
	if paused {
		return desired, nil
	}
	applied, err := r.apply(ctx, cluster, patcher, desired)
	r.Metrics.Applied(cluster, applied)
	if err != nil {
		return nil, err
	}
	if applied > 0 {
		r.Events.Eventf(cluster, nil, corev1.EventTypeNormal, ReasonSucceeded, "Apply", "Applied the add-ons of the existing cluster (%d objects changed)", applied)
	}
	return desired, nil
}

// pruneExistingAddons deletes the representation of an existing cluster whose add-ons were
// switched off while its kubeconfig cannot be read (the Secret missing or broken): the
// representation needs no kubeconfig to go. With add-ons still on it stays as it is, waiting
// for the Secret; a paused cluster keeps it.
func (r *ClusterReconciler) pruneExistingAddons(ctx context.Context, cluster *automationv1alpha1.Cluster, patcher *clusterPatcher, paused bool) error {
	if paused || cluster.Spec.Network != nil || len(cluster.Spec.Software) > 0 || len(appliedRecord(cluster)) == 0 {
		return nil
	}
	_, err := r.existingAddons(ctx, cluster, patcher, nil, paused)
	return err
}

// endpointOf is the host and port of the API server a kubeconfig names.
func endpointOf(cfg *rest.Config) (string, int32, error) {
	raw := cfg.Host
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return "", 0, fmt.Errorf("the kubeconfig's server is not a URL with a host")
	}
	port := 443
	if u.Scheme == "http" {
		port = 80
	}
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil || port < 1 || port > 65535 {
			return "", 0, fmt.Errorf("the kubeconfig's server has an invalid port")
		}
	}
	return u.Hostname(), int32(port), nil
}

// markProvisioned fulfils CAPI's InfraCluster contract once the existing cluster answered:
// status.initialization.provisioned = true on its ExistingCluster (it stays true, as the
// contract asks). It reports false when the ExistingCluster is not in the cache yet.
func (r *ClusterReconciler) markProvisioned(ctx context.Context, cluster *automationv1alpha1.Cluster) (bool, error) {
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(existingClusterGVK)
	if err := r.Cache.Get(ctx, client.ObjectKeyFromObject(cluster), live); err != nil {
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return false, err
	}
	if done, _, _ := unstructured.NestedBool(live.Object, "status", "initialization", "provisioned"); done {
		return true, nil
	}
	// The controller's own write, like every status it keeps.
	patch := client.RawPatch("application/merge-patch+json", []byte(`{"status":{"initialization":{"provisioned":true}}}`))
	if err := r.Status().Patch(ctx, live, patch); err != nil {
		return false, client.IgnoreNotFound(err)
	}
	return true, nil
}

// markControlPlane fulfils CAPI's control-plane contract from the probe: once the existing
// cluster's API server answered, status.initialization.controlPlaneInitialized = true on its
// ExistingControlPlane (it stays true, as the contract asks, also while the API server is
// down); its Available condition, which CAPI mirrors into the CAPI Cluster's
// ControlPlaneAvailable, follows each probe. Nothing is written when both are as they should
// be. It reports false when the ExistingControlPlane is not in the cache yet.
func (r *ClusterReconciler) markControlPlane(ctx context.Context, cluster *automationv1alpha1.Cluster, up bool, reason, msg string) (bool, error) {
	live := &controlplanev1alpha1.ExistingControlPlane{}
	if err := r.Cache.Get(ctx, client.ObjectKeyFromObject(cluster), live); err != nil {
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return false, err
	}
	next := live.DeepCopy()
	if up {
		next.Status.Initialization.ControlPlaneInitialized = ptr.To(true)
	}
	status := metav1.ConditionFalse
	if up {
		status = metav1.ConditionTrue
	}
	apimeta.SetStatusCondition(&next.Status.Conditions, metav1.Condition{Type: controlplanev1alpha1.AvailableCondition,
		Status: status, Reason: reason, Message: msg, ObservedGeneration: live.Generation})
	if equality.Semantic.DeepEqual(live.Status, next.Status) {
		return true, nil
	}
	// The controller's own write, like every status it keeps.
	if err := r.Status().Patch(ctx, next, client.MergeFrom(live)); err != nil {
		return false, client.IgnoreNotFound(err)
	}
	return true, nil
}

// observeExistingAddons reports an existing cluster's add-ons as for any cluster; its control
// plane counts as initialized while its API server answers. CAPI's ClusterResourceSets reach
// it only through a kubeconfig Secret labelled with the cluster's name (CAPI's managers cache
// no other), which is the operator's Secret, not L-KaaS's to change: without the label its
// ClusterResourceSet add-ons say so. (The Helm add-on provider reads the Secret through a
// cache of every Secret, so its add-ons need no label.)
func (r *ClusterReconciler) observeExistingAddons(ctx context.Context, cluster *automationv1alpha1.Cluster, desired *desiredState, secret *corev1.Secret, up bool) error {
	state := &capiState{}
	if up {
		state.conditions = []metav1.Condition{{Type: capiControlPlaneInitialized, Status: metav1.ConditionTrue}}
	}
	if secret.GetLabels()[capiClusterNameLabel] != cluster.Name {
		state.unreachable = fmt.Sprintf("Cluster API cannot read the kubeconfig Secret: its ClusterResourceSets read only kubeconfig Secrets labelled %s=%s; add that label to the Secret", capiClusterNameLabel, cluster.Name)
	}
	return r.observeAddons(ctx, cluster, desired, state)
}
