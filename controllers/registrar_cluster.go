package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/fluxcd/pkg/runtime/patch"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
	"github.com/dcn-ssu/lkaas/internal/apply"
	"github.com/dcn-ssu/lkaas/internal/emco"
)

// registrarFieldManager owns the status fields and conditions the registrars write.
const registrarFieldManager = "lkaas-emco"

// KubeconfigValueKey is the key of CAPI's kubeconfig Secret that holds the kubeconfig.
const KubeconfigValueKey = "value"

// ClusterRegistrar registers every Available L-KaaS Cluster with the EMCO endpoint its Fleet
// names for it, keeps EMCO's copy of the kubeconfig and labels current, and deregisters the
// cluster before its infrastructure goes: find the endpoint, wait for the cluster, register,
// record.
type ClusterRegistrar struct {
	client.Client
	Cache     client.Reader
	APIReader client.Reader
	Events    events.EventRecorder
	Clients   *EMCOClients
	// Interval of the pass that repairs what someone changed in EMCO; default 10 minutes.
	Interval time.Duration
	// MaxConcurrentReconciles bounds parallel EMCO work.
	MaxConcurrentReconciles int
}

func (r *ClusterRegistrar) interval() time.Duration {
	if r.Interval > 0 {
		return r.Interval
	}
	return 10 * time.Minute
}

// Reconcile is one pass over an L-KaaS Cluster's EMCO registration.
func (r *ClusterRegistrar) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	cluster := &automationv1alpha1.Cluster{}
	if err := r.Get(ctx, req.NamespacedName, cluster); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	patcher := patch.NewSerialPatcher(cluster, r.Client)
	defer func() {
		if err := patcher.Patch(ctx, cluster, patch.WithOwnedConditions{Conditions: []string{RegisteredCondition}},
			patch.WithFieldOwner(registrarFieldManager)); ignoreNotFound(err) != nil {
			retErr = kerrors.NewAggregate([]error{retErr, err})
		}
	}()

	if !cluster.DeletionTimestamp.IsZero() {
		return r.finalize(ctx, cluster)
	}
	fleet, err := fleetOf(ctx, r.Cache, cluster)
	if err != nil {
		return ctrl.Result{}, err
	}
	if fleet == nil || fleet.Spec.EMCO == nil {
		// No EMCO for this cluster (any more): what was registered stays recorded, and is
		// deregistered when the cluster goes, if the endpoint is still known then.
		if cluster.Status.EMCO == nil {
			conditions.Delete(cluster, RegisteredCondition)
		}
		return ctrl.Result{}, nil
	}

	lc, err := r.logicalClusterOf(ctx, cluster)
	if err != nil {
		return ctrl.Result{}, err
	}
	// A member's project is its logical cluster's, where the logical cloud that references
	// it lives; its endpoint is its own choice first (the seed labels members).
	lcLabels := labelsOf(lc)
	name := endpointName(fleet.Spec.EMCO, cluster.Labels, lcLabels)
	target, err := r.Clients.Target(ctx, fleet, name, lcLabels, cluster.Labels)
	if err != nil {
		var noEndpoint *errNoEndpoint
		if errors.As(err, &noEndpoint) {
			conditions.MarkFalse(cluster, RegisteredCondition, ReasonEndpointNotFound, "%s", err)
			return ctrl.Result{}, nil // a change of the Fleet or the label brings it back
		}
		conditions.MarkFalse(cluster, RegisteredCondition, ReasonRegistrationFailed, "%s", err)
		return ctrl.Result{}, err
	}
	want := wantedRegistration(cluster, target)

	// The cluster moves to another endpoint, provider or project: leave the old one first.
	if rec := cluster.Status.EMCO; rec != nil && !sameRegistrationPlace(rec, want) {
		if done, err := r.release(ctx, cluster, fleet, rec); !done {
			return r.failed(cluster, err, "deregistering from %s", rec.Endpoint)
		}
		cluster.Status.EMCO = nil
	}

	if !conditions.IsTrue(cluster, AvailableCondition) {
		if cluster.Status.EMCO == nil {
			conditions.MarkFalse(cluster, RegisteredCondition, ReasonWaitingForCluster, "registers with EMCO endpoint %s once the cluster is Available", target.Endpoint)
		}
		return ctrl.Result{}, nil // a registered cluster that is briefly unavailable stays registered
	}
	kubeconfig, err := r.kubeconfig(ctx, cluster)
	if err != nil {
		return ctrl.Result{}, err
	}
	if kubeconfig == nil {
		conditions.MarkFalse(cluster, RegisteredCondition, ReasonWaitingForKubeconfig, "waiting for the kubeconfig Secret %s", kubeconfigSecretName(cluster))
		return ctrl.Result{}, nil // the Secret watch brings the cluster back
	}

	// Hold the cluster before EMCO learns of it, so that no deletion can skip deregistration.
	if !controllerutil.ContainsFinalizer(cluster, EMCOFinalizer) {
		controllerutil.AddFinalizer(cluster, EMCOFinalizer)
		if err := patcher.Patch(ctx, cluster, patch.WithFieldOwner(registrarFieldManager)); err != nil {
			return ctrl.Result{}, err
		}
	}
	change, err := r.register(ctx, target, cluster, want, kubeconfig)
	if err != nil {
		return r.failed(cluster, err, "registering with %s", target.Endpoint)
	}
	want.Registered = true
	want.KubeconfigDigest = digest(kubeconfig)
	cluster.Status.EMCO = want
	conditions.MarkTrue(cluster, RegisteredCondition, ReasonRegistered, "registered with EMCO endpoint %s as %s/%s (project %s)",
		want.Endpoint, want.ClusterProvider, want.Cluster, want.Project)
	switch change {
	case emco.Created:
		r.Events.Eventf(cluster, nil, corev1.EventTypeNormal, ReasonRegistered, "Register", "Registered with EMCO endpoint %s as %s/%s", want.Endpoint, want.ClusterProvider, want.Cluster)
	case emco.Replaced:
		r.Events.Eventf(cluster, nil, corev1.EventTypeNormal, ReasonRegistered, "Register", "Re-registered with EMCO endpoint %s: the kubeconfig changed", want.Endpoint)
	}
	return ctrl.Result{RequeueAfter: r.interval()}, nil
}

// wantedRegistration is where the cluster belongs in EMCO: the endpoint's project, a cluster
// provider per tenant (the namespace when the cluster names no tenant), the cluster's name.
func wantedRegistration(cluster *automationv1alpha1.Cluster, target *emcoTarget) *automationv1alpha1.EMCORegistration {
	provider := cluster.Spec.Tenant
	if provider == "" {
		provider = cluster.Namespace
	}
	return &automationv1alpha1.EMCORegistration{Endpoint: target.Endpoint, Project: target.Project,
		ClusterProvider: provider, Cluster: cluster.Name}
}

func sameRegistrationPlace(a, b *automationv1alpha1.EMCORegistration) bool {
	return a.Endpoint == b.Endpoint && a.Project == b.Project && a.ClusterProvider == b.ClusterProvider && a.Cluster == b.Cluster
}

// register ensures, in the contract's order, project, rsync entry, cluster provider, the
// cluster with its kubeconfig (re-registering it when CAPI rotated it), the owner mark and
// the labels. Each step reads first, so an unchanged cluster costs reads only.
func (r *ClusterRegistrar) register(ctx context.Context, t *emcoTarget, cluster *automationv1alpha1.Cluster, want *automationv1alpha1.EMCORegistration, kubeconfig []byte) (emco.Change, error) {
	c := t.Client
	if _, err := c.EnsureProject(ctx, emco.Project{Metadata: emco.Metadata{Name: want.Project}}); err != nil {
		return emco.Unchanged, err
	}
	if _, err := c.EnsureRsyncController(ctx, t.Rsync.Host, int(t.Rsync.Port)); err != nil {
		return emco.Unchanged, err
	}
	if _, err := c.EnsureClusterProvider(ctx, emco.ClusterProvider{Metadata: emco.Metadata{Name: want.ClusterProvider}}); err != nil {
		return emco.Unchanged, err
	}
	if owner, err := clusterOwner(ctx, c, want); err != nil {
		return emco.Unchanged, err
	} else if owner != "" && owner != cluster.Namespace+"/"+cluster.Name {
		return emco.Unchanged, &nameTakenError{want: want, owner: owner}
	}
	change, err := c.EnsureCluster(ctx, emco.ClusterRegistration{Provider: want.ClusterProvider,
		Cluster:    emco.Metadata{Name: want.Cluster, Description: "L-KaaS Cluster " + cluster.Namespace + "/" + cluster.Name},
		Kubeconfig: kubeconfig, Project: want.Project})
	if err != nil {
		return emco.Unchanged, err
	}
	if _, err := c.EnsureClusterKvPair(ctx, want.ClusterProvider, want.Cluster, ownerKv(cluster)); err != nil {
		return change, err
	}
	if _, err := c.EnsureClusterLabels(ctx, want.ClusterProvider, want.Cluster, emcoLabels(cluster)); err != nil {
		return change, err
	}
	return change, nil
}

// emcoLabels are the EMCO labels of a cluster: its Kubernetes labels (without the Fleet's
// bookkeeping) and its tenant, mapped by emco.LabelsFor ("automation.dcn.ssu.ac.kr/location:
// kr-seoul" becomes "location-kr-seoul"), so that placement intents can select by them.
func emcoLabels(cluster *automationv1alpha1.Cluster) []string {
	labels := maps.Clone(cluster.Labels)
	for _, bookkeeping := range apply.StampedLabels { // no placement facts
		delete(labels, bookkeeping)
	}
	if cluster.Spec.Tenant != "" {
		if labels == nil {
			labels = map[string]string{}
		}
		labels["tenant"] = cluster.Spec.Tenant
	}
	return emco.LabelsFor(labels)
}

// clusterOwner reads whose L-KaaS Cluster a clm cluster is ("" when clm has no such cluster
// or it carries no owner mark, which L-KaaS then adopts).
func clusterOwner(ctx context.Context, c *emco.Client, reg *automationv1alpha1.EMCORegistration) (string, error) {
	kv, err := c.GetClusterKvPair(ctx, reg.ClusterProvider, reg.Cluster, ownerKvPair)
	if emco.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	var ns, name string
	for _, pair := range kv.Spec.KV {
		if v, ok := pair["namespace"].(string); ok {
			ns = v
		}
		if v, ok := pair["name"].(string); ok {
			name = v
		}
	}
	return ns + "/" + name, nil
}

type nameTakenError struct {
	want  *automationv1alpha1.EMCORegistration
	owner string
}

func (e *nameTakenError) Error() string {
	return fmt.Sprintf("EMCO cluster %s/%s at endpoint %s belongs to the L-KaaS Cluster %s; rename the cluster or give it another tenant",
		e.want.ClusterProvider, e.want.Cluster, e.want.Endpoint, e.owner)
}

// failed reports an EMCO failure on the Registered condition and retries: soon while a
// logical cloud is busy, with backoff otherwise.
func (r *ClusterRegistrar) failed(cluster *automationv1alpha1.Cluster, err error, doing string, args ...any) (ctrl.Result, error) {
	what := fmt.Sprintf(doing, args...)
	var taken *nameTakenError
	if errors.As(err, &taken) {
		conditions.MarkFalse(cluster, RegisteredCondition, ReasonNameTaken, "%s", err)
		r.Events.Eventf(cluster, nil, corev1.EventTypeWarning, ReasonNameTaken, "Register", "%s", err)
		return ctrl.Result{RequeueAfter: r.interval()}, nil
	}
	return reportEMCOFailure(cluster, r.Events, err, what)
}

// finalize deregisters a deleted cluster, then lets the Cluster controller take down its
// CAPI objects. An EMCO outage holds the deletion, with the record kept in status.
func (r *ClusterRegistrar) finalize(ctx context.Context, cluster *automationv1alpha1.Cluster) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(cluster, EMCOFinalizer) {
		return ctrl.Result{}, nil
	}
	if rec := cluster.Status.EMCO; rec != nil {
		fleet, err := fleetOf(ctx, r.Cache, cluster)
		if err != nil {
			return ctrl.Result{}, err
		}
		if done, err := r.release(ctx, cluster, fleet, rec); !done {
			conditions.MarkFalse(cluster, RegisteredCondition, ReasonDeregistering, "deregistering from EMCO endpoint %s before the cluster is deleted: %s", rec.Endpoint, errString(err))
			if after, ok := emcoRetryAfter(err); ok {
				return ctrl.Result{RequeueAfter: after}, nil
			}
			return ctrl.Result{}, err
		}
		cluster.Status.EMCO = nil
	}
	conditions.MarkFalse(cluster, RegisteredCondition, ReasonDeregistered, "not registered with EMCO")
	controllerutil.RemoveFinalizer(cluster, EMCOFinalizer)
	return ctrl.Result{}, nil
}

// release removes a cluster from EMCO as rec records it, in the contract's order: out of every
// logical cloud of its project, then labels and kv-pairs, then the cluster, then the provider
// when no cluster is left in it. A cluster whose owner mark names another L-KaaS Cluster is
// left alone. When the endpoint is no longer configured there is nothing to call: the record
// goes with a warning naming what may be left in EMCO.
func (r *ClusterRegistrar) release(ctx context.Context, cluster *automationv1alpha1.Cluster, fleet *automationv1alpha1.Fleet, rec *automationv1alpha1.EMCORegistration) (bool, error) {
	if fleet == nil {
		r.Events.Eventf(cluster, nil, corev1.EventTypeWarning, ReasonEndpointNotFound, "Deregister",
			"The Fleet is gone: cluster %s/%s may be left registered at EMCO endpoint %s", rec.ClusterProvider, rec.Cluster, rec.Endpoint)
		return true, nil
	}
	t, err := r.Clients.Target(ctx, fleet, rec.Endpoint)
	var noEndpoint *errNoEndpoint
	if errors.As(err, &noEndpoint) {
		r.Events.Eventf(cluster, nil, corev1.EventTypeWarning, ReasonEndpointNotFound, "Deregister",
			"%s: cluster %s/%s may be left registered there", err, rec.ClusterProvider, rec.Cluster)
		return true, nil
	}
	if err != nil {
		return false, err
	}
	c := t.Client
	owner, err := clusterOwner(ctx, c, rec)
	if err != nil {
		return false, err
	}
	if owner != "" && owner != cluster.Namespace+"/"+cluster.Name {
		return true, nil // someone else's cluster of the same name: not ours to remove
	}
	if _, err := c.DetachCluster(ctx, rec.Project, rec.ClusterProvider, rec.Cluster); err != nil {
		return false, err
	}
	if err := c.DeleteCluster(ctx, rec.ClusterProvider, rec.Cluster); err != nil {
		return false, err
	}
	if left, err := c.ListClusters(ctx, rec.ClusterProvider); err == nil && len(left) == 0 {
		// Another registrar may add a cluster meanwhile; clm then refuses (409) and the
		// provider stays, which is what that registrar needs.
		if err := c.DeleteClusterProvider(ctx, rec.ClusterProvider); err != nil && !emco.IsConflict(err) {
			return false, err
		}
	}
	r.Events.Eventf(cluster, nil, corev1.EventTypeNormal, ReasonDeregistered, "Deregister",
		"Deregistered %s/%s from EMCO endpoint %s", rec.ClusterProvider, rec.Cluster, rec.Endpoint)
	return true, nil
}

// kubeconfig reads CAPI's kubeconfig Secret around the cache (Secrets are watched by
// metadata only); nil when it is not there yet. The bytes go to EMCO and nowhere else.
func (r *ClusterRegistrar) kubeconfig(ctx context.Context, cluster *automationv1alpha1.Cluster) ([]byte, error) {
	secret := &corev1.Secret{}
	err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: cluster.Namespace, Name: kubeconfigSecretName(cluster)}, secret)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if len(secret.Data[KubeconfigValueKey]) == 0 {
		return nil, nil
	}
	return secret.Data[KubeconfigValueKey], nil
}

func kubeconfigSecretName(cluster *automationv1alpha1.Cluster) string {
	if cluster.Status.KubeconfigSecretName != "" {
		return cluster.Status.KubeconfigSecretName
	}
	return cluster.Name + "-kubeconfig"
}

// logicalClusterOf reads the LogicalCluster a member belongs to (nil for other clusters):
// its labels may name the EMCO project and endpoint of all members.
func (r *ClusterRegistrar) logicalClusterOf(ctx context.Context, cluster *automationv1alpha1.Cluster) (*intentv1.LogicalCluster, error) {
	name := cluster.Labels[automationv1alpha1.LogicalClusterLabel]
	if name == "" {
		return nil, nil
	}
	lc := &intentv1.LogicalCluster{}
	if err := r.Cache.Get(ctx, client.ObjectKey{Namespace: cluster.Namespace, Name: name}, lc); err != nil {
		return nil, client.IgnoreNotFound(err)
	}
	return lc, nil
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func errString(err error) string {
	if err == nil {
		return "waiting"
	}
	return err.Error()
}

func labelsOf(lc *intentv1.LogicalCluster) map[string]string {
	if lc == nil {
		return nil
	}
	return lc.Labels
}
