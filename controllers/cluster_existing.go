package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
)

// Reasons and the condition of an existing cluster (spec.existing).
const (
	ReasonKubeconfigMissing    = "KubeconfigMissing"
	ReasonKubeconfigInvalid    = "KubeconfigInvalid"
	ReasonAPIServerUnreachable = "APIServerUnreachable"
	ReasonAPIServerNotReady    = "APIServerNotReady"
	ReasonAPIServerReady       = "APIServerReady"
	ReasonVersionAsExpected    = "VersionAsExpected"
	ReasonVersionNotManaged    = "VersionNotManaged"

	// VersionAsExpectedCondition compares the version an existing cluster reports with the
	// one Git expects; False is shown, never acted on (L-KaaS does not upgrade it).
	VersionAsExpectedCondition = "VersionAsExpected"
)

const (
	defaultExistingProbeInterval = time.Minute
	defaultExistingProbeTimeout  = 10 * time.Second
)

func (r *ClusterReconciler) existingProbeInterval() time.Duration {
	if r.Settings.ExistingProbeInterval > 0 {
		return r.Settings.ExistingProbeInterval
	}
	return defaultExistingProbeInterval
}

func (r *ClusterReconciler) existingProbeTimeout() time.Duration {
	if r.Settings.ExistingProbeTimeout > 0 {
		return r.Settings.ExistingProbeTimeout
	}
	return defaultExistingProbeTimeout
}

// existingKubeconfigSecret is the Secret an existing cluster's kubeconfig is read from.
func existingKubeconfigSecret(cluster *automationv1alpha1.Cluster) string {
	if s := cluster.Spec.Existing.KubeconfigSecret; s != "" {
		return s
	}
	return automationv1alpha1.KubeconfigSecretFor(cluster.Name)
}

// reconcileExisting is one pass over a cluster built by other means: nothing is rendered or
// written for it; its API server, asked with its own kubeconfig, says whether it is Available.
// The remote API server cannot be watched, so the pass comes back every probe interval; a
// change of the kubeconfig Secret (a rotation) brings it back at once.
func (r *ClusterReconciler) reconcileExisting(ctx context.Context, cluster *automationv1alpha1.Cluster, patcher *clusterPatcher) (ctrl.Result, error) {
	// L-KaaS writes nothing for an existing cluster but the representation of its add-ons,
	// which a pause holds.
	_, paused := cluster.GetAnnotations()[automationv1alpha1.PausedAnnotation]
	if paused {
		conditions.MarkTrue(cluster, PausedCondition, ReasonPaused, "paused by the %s annotation: L-KaaS changes nothing of the existing cluster's add-ons", automationv1alpha1.PausedAnnotation)
	} else {
		conditions.Delete(cluster, PausedCondition)
	}
	for _, t := range []string{meta.StalledCondition, capiInfrastructureReady, capiControlPlaneInitialized, capiControlPlaneAvailable, capiWorkersAvailable} {
		conditions.Delete(cluster, t)
	}
	// One hash for what Git says, applied as soon as seen: an existing cluster has no build
	// to wait for, so it is never pending in a logical cluster's rollout.
	cluster.Status.RenderHash = existingHash(cluster)
	cluster.Status.AppliedRenderHash = cluster.Status.RenderHash
	cluster.Status.WorkersVersion = ""
	if cluster.Spec.Network == nil && len(cluster.Spec.Software) == 0 {
		cluster.Status.Addons = nil
		conditions.Delete(cluster, AddonsAppliedCondition)
	}
	name := existingKubeconfigSecret(cluster)
	cluster.Status.KubeconfigSecretName = name

	secret := &corev1.Secret{}
	// Around the cache: the cache holds Secrets' metadata only.
	err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: cluster.Namespace, Name: name}, secret)
	switch {
	case apierrors.IsNotFound(err):
		// Messages reach the status documents in Git, which never name a kubeconfig Secret.
		r.existingDown(cluster, ReasonKubeconfigMissing, fmt.Sprintf("waiting for its kubeconfig Secret (<cluster name>-kubeconfig, key %q) in namespace %s", KubeconfigValueKey, cluster.Namespace))
		if err := r.pruneExistingAddons(ctx, cluster, patcher, paused); err != nil {
			return ctrl.Result{}, err
		}
		return ctrl.Result{}, nil // the Secret's creation brings the cluster back
	case err != nil:
		return ctrl.Result{}, err
	}
	cfg, err := restConfigFromKubeconfig(secret.Data[KubeconfigValueKey])
	if err != nil {
		msg := fmt.Sprintf("its kubeconfig Secret: %s", err)
		r.existingDown(cluster, ReasonKubeconfigInvalid, msg)
		conditions.MarkStalled(cluster, ReasonKubeconfigInvalid, "%s", msg)
		conditions.Delete(cluster, meta.ReconcilingCondition)
		if err := r.pruneExistingAddons(ctx, cluster, patcher, paused); err != nil {
			return ctrl.Result{}, err
		}
		return ctrl.Result{}, nil // only a new Secret can help
	}
	cfg.Timeout = r.existingProbeTimeout()

	// Its add-ons: the CAPI Cluster that represents it, with its ExistingCluster and
	// ExistingControlPlane, and the add-on objects, written like any cluster's (as the
	// Fleet's account, recorded, pruned).
	desired, err := r.existingAddons(ctx, cluster, patcher, cfg, paused)
	if err != nil {
		var stalled *stalledError
		if errors.As(err, &stalled) {
			r.renderFailed(cluster, err)
			return ctrl.Result{}, nil // a change of the cluster or its profiles brings it back
		}
		reason := applyFailureReason(err)
		conditions.MarkFalse(cluster, meta.ReadyCondition, reason, "%s", err)
		conditions.MarkReconciling(cluster, meta.ProgressingWithRetryReason, "retrying: %s", firstLine(err.Error()))
		r.Events.Eventf(cluster, nil, corev1.EventTypeWarning, reason, "Apply", "%s", err)
		return ctrl.Result{}, err
	}

	represented := desired != nil && len(desired.objects) > 0 && !paused
	version, reason, probeErr := probeAPIServer(ctx, cfg)
	if probeErr != nil {
		r.existingDown(cluster, reason, probeErr.Error())
		if represented {
			// Still initialized (the contract's field stays true), no longer Available.
			if _, err := r.markControlPlane(ctx, cluster, false, reason, probeErr.Error()); err != nil {
				return ctrl.Result{}, err
			}
		}
		if desired != nil {
			if err := r.observeExistingAddons(ctx, cluster, desired, secret, false); err != nil {
				return ctrl.Result{}, err
			}
		}
		return ctrl.Result{RequeueAfter: r.existingProbeInterval()}, nil
	}
	requeue := r.existingProbeInterval()
	msg := fmt.Sprintf("the API server answers /readyz with the cluster's kubeconfig; Kubernetes %s", version)
	if represented {
		// CAPI's contracts: the infrastructure provisioned, the control plane initialized
		// and available, as the probe says.
		provisioned, err := r.markProvisioned(ctx, cluster)
		if err != nil {
			return ctrl.Result{}, err
		}
		initialized, err := r.markControlPlane(ctx, cluster, true, ReasonAPIServerReady, msg)
		if err != nil {
			return ctrl.Result{}, err
		}
		if !provisioned || !initialized {
			requeue = 2 * time.Second // what was just written is not in the cache yet
		}
	}
	if desired != nil {
		if err := r.observeExistingAddons(ctx, cluster, desired, secret, true); err != nil {
			return ctrl.Result{}, err
		}
	}
	cluster.Status.ControlPlaneVersion = version
	if conditions.IsFalse(cluster, capiAvailable) || !conditions.Has(cluster, capiAvailable) {
		r.Events.Eventf(cluster, nil, corev1.EventTypeNormal, ReasonAPIServerReady, "Probe", "%s", msg)
	}
	conditions.MarkTrue(cluster, capiAvailable, ReasonAPIServerReady, "%s", msg)
	conditions.Delete(cluster, meta.ReconcilingCondition)
	ready := "existing cluster, " + msg
	if want := cluster.Spec.Existing.KubernetesVersion; want == "" {
		conditions.Delete(cluster, VersionAsExpectedCondition)
	} else if sameVersion(want, version) {
		conditions.MarkTrue(cluster, VersionAsExpectedCondition, ReasonVersionAsExpected, "runs %s, as Git expects", version)
	} else {
		note := fmt.Sprintf("runs %s, Git expects %s: L-KaaS does not upgrade an existing cluster; upgrade it by the means that built it, or change the version in Git", version, want)
		conditions.MarkFalse(cluster, VersionAsExpectedCondition, ReasonVersionNotManaged, "%s", note)
		ready += "; " + note
	}
	conditions.MarkTrue(cluster, meta.ReadyCondition, ReasonAPIServerReady, "%s", ready)
	cluster.Status.Phase = automationv1alpha1.ClusterPhaseReady
	return ctrl.Result{RequeueAfter: requeue}, nil
}

// existingDown records an existing cluster that does not answer (or cannot be asked): not
// Available, not Ready; Pending until it first answered, Provisioned after.
func (r *ClusterReconciler) existingDown(cluster *automationv1alpha1.Cluster, reason, msg string) {
	if conditions.IsTrue(cluster, capiAvailable) {
		r.Events.Eventf(cluster, nil, corev1.EventTypeWarning, reason, "Probe", "%s", msg)
	}
	conditions.MarkFalse(cluster, capiAvailable, reason, "%s", msg)
	conditions.MarkFalse(cluster, meta.ReadyCondition, reason, "%s", msg)
	conditions.MarkReconciling(cluster, reason, "%s", msg)
	cluster.Status.Phase = automationv1alpha1.ClusterPhaseProvisioned
	if cluster.Status.ControlPlaneVersion == "" {
		cluster.Status.Phase = automationv1alpha1.ClusterPhasePending
	}
}

// restConfigFromKubeconfig reads a kubeconfig in the format of CAPI's kubeconfig Secrets. Its
// errors never quote the kubeconfig: parse errors of client-go can echo the input, so they
// are replaced by what was wrong.
func restConfigFromKubeconfig(data []byte) (*rest.Config, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("no key %q, or it is empty", KubeconfigValueKey)
	}
	raw, err := clientcmd.Load(data)
	if err != nil {
		return nil, fmt.Errorf("key %q is not a kubeconfig (YAML or JSON with clusters, users and contexts)", KubeconfigValueKey)
	}
	if raw.CurrentContext == "" {
		return nil, fmt.Errorf("the kubeconfig under key %q names no current-context", KubeconfigValueKey)
	}
	cfg, err := clientcmd.NewDefaultClientConfig(*raw, nil).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("the kubeconfig under key %q cannot be used: its current-context %q lacks a cluster, a server or credentials", KubeconfigValueKey, raw.CurrentContext)
	}
	return cfg, nil
}

// probeAPIServer asks an API server whether it is ready (/readyz) and what it runs
// (/version), each bounded by the config's timeout.
func probeAPIServer(ctx context.Context, cfg *rest.Config) (version, reason string, err error) {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return "", ReasonAPIServerUnreachable, fmt.Errorf("no client for %s: %w", hostOf(cfg), err)
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	body, err := dc.RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
	if err != nil {
		if answered(err) {
			return "", ReasonAPIServerNotReady, fmt.Errorf("the API server at %s is not ready: /readyz: %s", hostOf(cfg), firstLine(strings.TrimSpace(string(body))+" "+err.Error()))
		}
		return "", ReasonAPIServerUnreachable, fmt.Errorf("the API server at %s does not answer within %s: %s", hostOf(cfg), cfg.Timeout, err)
	}
	info, err := dc.ServerVersion()
	if err != nil {
		return "", ReasonAPIServerUnreachable, fmt.Errorf("the API server at %s answers /readyz but not /version: %s", hostOf(cfg), err)
	}
	return info.GitVersion, "", nil
}

// answered tells an API server's refusal (an HTTP status) from no answer at all.
func answered(err error) bool {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return true
	}
	var netErr net.Error
	var urlErr *url.Error
	return !errors.As(err, &netErr) && !errors.As(err, &urlErr)
}

func hostOf(cfg *rest.Config) string {
	if u, err := url.Parse(cfg.Host); err == nil && u.Host != "" {
		return u.Host
	}
	return cfg.Host
}

// sameVersion compares Kubernetes versions, "v" optional; build metadata (v1.31.0+k3s1)
// is what a distribution adds, not another version.
func sameVersion(want, got string) bool {
	norm := func(v string) string {
		v = strings.TrimPrefix(v, "v")
		if i := strings.IndexByte(v, '+'); i >= 0 {
			v = v[:i]
		}
		return v
	}
	return norm(want) == norm(got)
}

// existingHash stands for the render hash of an existing cluster: what Git says about it.
func existingHash(cluster *automationv1alpha1.Cluster) string {
	sum := sha256.Sum256([]byte("existing\x00" + existingKubeconfigSecret(cluster) + "\x00" + cluster.Spec.Existing.KubernetesVersion))
	return hex.EncodeToString(sum[:8])
}
