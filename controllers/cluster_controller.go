package controllers

import (
	"context"
	"errors"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/internal/versionrules"
)

// ClusterFinalizer holds an L-KaaS Cluster until its CAPI Cluster (and with it the machines)
// is gone.
const ClusterFinalizer = automationv1alpha1.LabelPrefix + "cluster"

// Reasons and condition types of the Cluster controller.
const (
	ReasonRenderFailed      = "RenderFailed"
	ReasonWaitingForRollout = "WaitingForRollout"
	ReasonPaused            = "Paused"
	ReasonDeleting          = "Deleting"
	ReasonProgressing       = "Progressing"

	// PausedCondition is True while a human holds the cluster (PausedAnnotation).
	PausedCondition = "Paused"
	// AddonsAppliedCondition is True once every add-on reports applied on the cluster.
	AddonsAppliedCondition = "AddonsApplied"
)

// ClusterReconciler keeps the CAPI objects of each L-KaaS Cluster in step with its spec and
// profiles, and reports what CAPI says back: render, gate, apply, observe.
type ClusterReconciler struct {
	client.Client
	// Cache is the informer-backed reader; a steady-state pass reads only from it.
	Cache client.Reader
	// APIReader reads around the cache where a stale answer would be wrong (deletion).
	APIReader client.Reader
	Events    events.EventRecorder
	Settings  ClusterSettings
	// Metrics may be nil: nothing is recorded.
	Metrics *ClusterMetrics
	// Impersonator gives the clients that write as a Fleet's ServiceAccount (see writerFor).
	Impersonator *Impersonator
}

// ClusterSettings are the controller-wide options of the Cluster reconciler.
type ClusterSettings struct {
	// DefaultSharedProfileNamespaces apply to clusters whose Fleet names none.
	DefaultSharedProfileNamespaces []string
	MaxConcurrentReconciles        int
	// Interval of the periodic pass that repairs deleted objects; default 10 minutes.
	Interval time.Duration
	// ExistingProbeInterval is how often an existing cluster's API server is asked whether it
	// is ready (spec.existing); default 1 minute. ExistingProbeTimeout bounds one question;
	// default 10 seconds.
	ExistingProbeInterval time.Duration
	ExistingProbeTimeout  time.Duration
	// DefaultServiceAccount is written as for clusters whose Fleet names no ServiceAccount
	// (--default-service-account); empty: the controller's own identity.
	DefaultServiceAccount string
}

func (r *ClusterReconciler) interval() time.Duration {
	if r.Settings.Interval > 0 {
		return r.Settings.Interval
	}
	return 10 * time.Minute
}

// Reconcile is one pass over an L-KaaS Cluster.
func (r *ClusterReconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	cluster := &automationv1alpha1.Cluster{}
	if err := r.Get(ctx, req.NamespacedName, cluster); err != nil {
		if apierrors.IsNotFound(err) {
			r.Metrics.Forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	defer r.Metrics.Record(cluster, time.Now()) // deferred first, so it runs after the status patch

	// Everything a pass changes in the status goes out in one patch at its end.
	patcher := newClusterPatcher(r.Client, r.APIReader, cluster)
	defer func() {
		if err := patcher.patch(ctx, cluster); ignoreNotFound(err) != nil {
			retErr = kerrors.NewAggregate([]error{retErr, err})
		}
	}()

	if !cluster.DeletionTimestamp.IsZero() {
		return r.finalize(ctx, cluster)
	}
	// The finalizer goes out before the pass's first write, with the record of what that
	// write may leave behind (apply), or at the end of a pass that writes nothing else.
	controllerutil.AddFinalizer(cluster, ClusterFinalizer)
	cluster.Status.ObservedGeneration = cluster.Generation
	cluster.Status.SourceRevision = cluster.GetAnnotations()[automationv1alpha1.SourceRevisionAnnotation]

	if cluster.IsExisting() {
		return r.reconcileExisting(ctx, cluster, patcher)
	}

	// A human holds the cluster: change nothing, but keep telling what CAPI reports.
	if _, paused := cluster.GetAnnotations()[automationv1alpha1.PausedAnnotation]; paused {
		conditions.MarkTrue(cluster, PausedCondition, ReasonPaused, "paused by the %s annotation: L-KaaS changes nothing", automationv1alpha1.PausedAnnotation)
		err := r.observe(ctx, cluster, nil)
		return ctrl.Result{RequeueAfter: r.interval()}, err
	}
	conditions.Delete(cluster, PausedCondition)

	desired, err := r.render(ctx, cluster)
	if err != nil {
		var stalled *stalledError
		if !errors.As(err, &stalled) {
			return ctrl.Result{}, err // could not read the inputs: retry with backoff
		}
		r.renderFailed(cluster, err)
		return ctrl.Result{}, r.observe(ctx, cluster, nil)
	}
	conditions.Delete(cluster, meta.StalledCondition)
	cluster.Status.RenderHash = desired.hash

	// Kubernetes' version rules against what runs, before anything is written: a refused
	// cluster gets no write at all, and its logical cluster's rollout halts on it.
	gate, err := r.versionGate(ctx, cluster, desired)
	if err != nil {
		return ctrl.Result{}, err
	}
	if gate.refusal != nil {
		r.upgradeRefused(cluster, gate.refusal)
		return ctrl.Result{}, r.observe(ctx, cluster, nil)
	}
	desired.gate = &gate

	// A member of a logical cluster applies a changed render only when its wave comes.
	if waitingForWave(cluster) {
		return ctrl.Result{RequeueAfter: r.interval()}, r.observe(ctx, cluster, desired)
	}

	applied, err := r.apply(ctx, cluster, patcher, &desiredState{plan: desired.plan, objects: applyGate(desired.objects, gate), hash: desired.hash})
	r.Metrics.Applied(cluster, applied)
	if err != nil {
		reason := applyFailureReason(err)
		conditions.MarkFalse(cluster, meta.ReadyCondition, reason, "%s", err)
		conditions.MarkReconciling(cluster, meta.ProgressingWithRetryReason, "retrying: %s", firstLine(err.Error()))
		r.Events.Eventf(cluster, nil, corev1.EventTypeWarning, reason, "Apply", "%s", err)
		return ctrl.Result{}, err
	}
	if cluster.Status.AppliedRenderHash != desired.hash {
		r.Events.Eventf(cluster, nil, corev1.EventTypeNormal, ReasonSucceeded, "Apply", "Applied render %s (%d objects changed)", desired.hash, applied)
	}
	cluster.Status.AppliedRenderHash = desired.hash
	if err := r.observe(ctx, cluster, desired); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: r.interval()}, nil
}

// waitingForWave is the rollout gate: a logical-cluster member whose render changed since it
// last applied waits until its LogicalCluster permits that render. Its first render needs no
// permit: there is nothing running to disrupt.
func waitingForWave(cluster *automationv1alpha1.Cluster) bool {
	if cluster.GetLabels()[automationv1alpha1.LogicalClusterLabel] == "" {
		return false
	}
	s := cluster.Status
	return s.AppliedRenderHash != "" && s.RenderHash != s.AppliedRenderHash &&
		cluster.GetAnnotations()[automationv1alpha1.RolloutPermitAnnotation] != s.RenderHash
}

// renderFailed records a render that cannot succeed until the cluster, a profile, a catalog
// or a repository file changes; the watches bring the cluster back when one does.
func (r *ClusterReconciler) renderFailed(cluster *automationv1alpha1.Cluster, err error) {
	msg := err.Error()
	conditions.MarkFalse(cluster, meta.ReadyCondition, ReasonRenderFailed, "%s", msg)
	conditions.MarkStalled(cluster, ReasonRenderFailed, "%s", msg)
	conditions.Delete(cluster, meta.ReconcilingCondition)
	r.Events.Eventf(cluster, nil, corev1.EventTypeWarning, ReasonRenderFailed, "Render", "%s", msg)
}

var clusterOwnedConditions = []string{
	meta.ReadyCondition, meta.ReconcilingCondition, meta.StalledCondition, PausedCondition, AddonsAppliedCondition,
	capiInfrastructureReady, capiControlPlaneInitialized, capiControlPlaneAvailable, capiWorkersAvailable, capiAvailable,
	VersionAsExpectedCondition,
}

// versionGate reads what the cluster runs from the cache and decides this pass's versions.
func (r *ClusterReconciler) versionGate(ctx context.Context, cluster *automationv1alpha1.Cluster, desired *desiredState) (versionGate, error) {
	capi, err := r.capiCluster(ctx, cluster)
	if err != nil {
		return versionGate{}, err
	}
	state, err := r.readCAPI(ctx, cluster, capi)
	if err != nil {
		return versionGate{}, err
	}
	return gateVersions(state, desired.plan), nil
}

// upgradeRefused records a desired version that breaks a version rule; only a change of the
// cluster or its inputs (a new commit) brings it back, so it is not retried.
func (r *ClusterReconciler) upgradeRefused(cluster *automationv1alpha1.Cluster, refusal *versionrules.Refusal) {
	msg := refusal.Error()
	if refusal.Rule == versionrules.RuleNoDowngrade {
		msg += "; an upgrade this cluster already started cannot be reverted: keep its version or move forward"
	}
	conditions.MarkFalse(cluster, meta.ReadyCondition, ReasonUpgradeRefused, "%s", msg)
	conditions.MarkStalled(cluster, ReasonUpgradeRefused, "%s", msg)
	conditions.Delete(cluster, meta.ReconcilingCondition)
	r.Events.Eventf(cluster, nil, corev1.EventTypeWarning, ReasonUpgradeRefused, "Apply", "nothing applied: %s", msg)
}
