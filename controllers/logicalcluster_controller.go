package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/fluxcd/pkg/runtime/patch"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
	"github.com/dcn-ssu/lkaas/internal/apply"
)

// Reasons of the LogicalCluster's events and failures.
const (
	ReasonMemberApplyFailed = "MemberApplyFailed"
	ReasonRolloutPermitted  = "RolloutPermitted"
	ReasonInvalidRollout    = "InvalidRollout"
)

// LogicalClusterReconciler keeps the member Clusters of each LogicalCluster in step with its
// spec and rolls their changes out in waves: observe the members, plan the rollout, apply the
// members (with their permits), remove the members that left, report.
type LogicalClusterReconciler struct {
	client.Client
	// Cache is the manager's informer-backed reader: members are compared against it, so a
	// steady-state pass makes no request.
	Cache  client.Reader
	Events events.EventRecorder
	// Now is the clock of rollout timeouts; time.Now when nil.
	Now func() time.Time
	// RolloutSettle is how long a new change may gather before its rollout starts;
	// DefaultRolloutSettle when zero.
	RolloutSettle time.Duration
	// Impersonator gives the clients that write members as the ServiceAccount of the
	// LogicalCluster's Fleet (see writerOnBehalf); nil: members are written as the controller
	// unless a ServiceAccount is named, which is then refused.
	Impersonator *Impersonator
	// DefaultServiceAccount is written as for LogicalClusters whose Fleet names no
	// ServiceAccount (--default-service-account, the lockdown).
	DefaultServiceAccount string

	starts rolloutStarts
}

// SetupWithManager registers the reconciler: the LogicalCluster (spec and annotations, which
// carry the source revision) and its member Clusters, whose status changes move the rollout.
func (r *LogicalClusterReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&intentv1.LogicalCluster{}, builder.WithPredicates(predicate.Or[client.Object](
			predicate.GenerationChangedPredicate{},
			predicate.AnnotationChangedPredicate{},
			predicate.LabelChangedPredicate{},
		))).
		Owns(&automationv1alpha1.Cluster{}).
		Complete(r)
}

func (r *LogicalClusterReconciler) rolloutSettle() time.Duration {
	if r.RolloutSettle > 0 {
		return r.RolloutSettle
	}
	return DefaultRolloutSettle
}

func (r *LogicalClusterReconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// Reconcile is one pass over a LogicalCluster.
func (r *LogicalClusterReconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	lc := &intentv1.LogicalCluster{}
	if err := r.Get(ctx, req.NamespacedName, lc); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	// Members carry a controller reference: the garbage collector removes them.
	if !lc.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}

	patcher := patch.NewSerialPatcher(lc, r.Client)
	defer func() {
		if err := patcher.Patch(ctx, lc, patch.WithOwnedConditions{Conditions: []string{
			meta.ReadyCondition, meta.ReconcilingCondition, meta.StalledCondition, RolloutHaltedCondition,
		}}, patch.WithFieldOwner(apply.DefaultFieldManager)); err != nil && !apierrors.IsNotFound(err) {
			retErr = kerrors.NewAggregate([]error{retErr, err})
		}
	}()
	return r.reconcile(ctx, lc)
}

func (r *LogicalClusterReconciler) reconcile(ctx context.Context, lc *intentv1.LogicalCluster) (ctrl.Result, error) {
	now := r.now()
	maxUnavailable, timeout, err := rolloutLimits(lc)
	if err != nil {
		lc.Status.ObservedGeneration = lc.Generation
		conditions.MarkStalled(lc, ReasonInvalidRollout, "%s", err)
		conditions.MarkFalse(lc, meta.ReadyCondition, ReasonInvalidRollout, "%s", err)
		return ctrl.Result{}, nil
	}

	// Observe: the members as the cache has them.
	clusters, err := r.memberClusters(ctx, lc)
	if err != nil {
		return ctrl.Result{}, err
	}
	members := make([]memberRollout, len(lc.Spec.Clusters))
	for i := range lc.Spec.Clusters {
		members[i] = memberRolloutOf(&lc.Spec.Clusters[i], clusters[lc.Spec.Clusters[i].Name])
	}

	// A change of the LogicalCluster after a halt gives the members in flight a fresh timeout
	// (a Failed member halts again until its own render changes).
	restart := haltedBefore(lc)
	if restart {
		for i := range members {
			if members[i].inFlight() {
				members[i].PermitTime = now
			}
		}
	}

	// Plan: which pending changes may go now.
	plan := planRollout(members, maxUnavailable, timeout, now)
	key := client.ObjectKeyFromObject(lc)
	switch {
	case plan.CurrentWave == nil:
		r.starts.idle(key)
	case len(plan.Grant) > 0 && plan.InFlight == 0:
		if wait := r.starts.hold(key, now, r.rolloutSettle()); wait > 0 {
			plan.Grant = nil
			if plan.RecheckAfter == 0 || wait < plan.RecheckAfter {
				plan.RecheckAfter = wait
			}
		}
	}

	// Apply: every member with its permit; only what differs from the cache is sent, as the
	// Fleet's account, whose right to every write of the pass is checked before the first.
	permits := r.nextPermits(members, clusters, plan, restart, now)
	var errs []error
	var applies []*unstructured.Unstructured
	for i := range lc.Spec.Clusters {
		name := lc.Spec.Clusters[i].Name
		u, err := r.memberApply(lc, i, clusters[name], permits[name])
		switch {
		case err != nil:
			errs = append(errs, err)
		case u != nil:
			applies = append(applies, u)
		}
	}
	// Members that left the spec go once the others are in place.
	var removals []*automationv1alpha1.Cluster
	if len(errs) == 0 {
		removals = formerMembers(lc, clusters)
	}
	writer, err := r.writerFor(ctx, lc, applies, removals)
	if err != nil {
		errs = append(errs, err)
	} else {
		for _, u := range applies {
			if err := writer.Apply(ctx, client.ApplyConfigurationFromUnstructured(u),
				client.FieldOwner(apply.DefaultFieldManager), client.ForceOwnership); err != nil {
				errs = append(errs, fmt.Errorf("member %s: server-side apply: %w", u.GetName(), err))
			}
		}
		if len(errs) == 0 {
			errs = append(errs, removeFormerMembers(ctx, writer, removals)...)
		}
		for _, name := range plan.Grant {
			r.Events.Eventf(lc, nil, corev1.EventTypeNormal, ReasonRolloutPermitted, "Rollout",
				"member %s may apply render %s", name, permits[name].Hash)
		}
	}

	summarizeLogicalCluster(lc, members, clusters, plan)
	if err := kerrors.NewAggregate(errs); err != nil {
		reason := ReasonMemberApplyFailed
		for _, e := range errs {
			if applyFailureReason(e) == ReasonRBACForbidden {
				reason = ReasonRBACForbidden
			}
		}
		conditions.MarkFalse(lc, meta.ReadyCondition, reason, "%s", err)
		conditions.MarkReconciling(lc, meta.ProgressingWithRetryReason, "retrying: %s", firstLine(err.Error()))
		r.Events.Eventf(lc, nil, corev1.EventTypeWarning, reason, "Apply", "%s", err)
		return ctrl.Result{}, err
	}
	// Member status changes wake us; only a timeout has to be looked for.
	return ctrl.Result{RequeueAfter: plan.RecheckAfter}, nil
}

// haltedBefore: the rollout was halted at an older generation of the LogicalCluster.
func haltedBefore(lc *intentv1.LogicalCluster) bool {
	c := conditions.Get(lc, RolloutHaltedCondition)
	return c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration != lc.Generation
}

// memberClusters are the cached Clusters labelled as members of lc, by name.
func (r *LogicalClusterReconciler) memberClusters(ctx context.Context, lc *intentv1.LogicalCluster) (map[string]*automationv1alpha1.Cluster, error) {
	var list automationv1alpha1.ClusterList
	if err := r.Cache.List(ctx, &list, client.InNamespace(lc.Namespace),
		client.MatchingLabels{automationv1alpha1.LogicalClusterLabel: lc.Name}); err != nil {
		return nil, err
	}
	out := make(map[string]*automationv1alpha1.Cluster, len(list.Items))
	for i := range list.Items {
		out[list.Items[i].Name] = &list.Items[i]
	}
	return out, nil
}

// nextPermits is the permit each member should carry after this pass: its current one, a new
// one when granted, without its time once settled, with a fresh time after a restart.
func (r *LogicalClusterReconciler) nextPermits(members []memberRollout, clusters map[string]*automationv1alpha1.Cluster, plan rolloutPlan, restart bool, now time.Time) map[string]memberPermit {
	stamp := now.UTC().Format(time.RFC3339)
	out := make(map[string]memberPermit, len(members))
	for _, m := range members {
		p := permitOf(clusters[m.Name])
		if restart && m.inFlight() {
			p.Time = stamp
		}
		out[m.Name] = p
	}
	for _, name := range plan.Grant {
		for _, m := range members {
			if m.Name == name {
				out[name] = memberPermit{Hash: m.RenderHash, Time: stamp}
			}
		}
	}
	for _, name := range plan.Settle {
		out[name] = memberPermit{Hash: out[name].Hash}
	}
	return out
}

// memberApply is the apply configuration of member i when the cached Cluster differs from
// it, nil when it does not.
func (r *LogicalClusterReconciler) memberApply(lc *intentv1.LogicalCluster, i int, live *automationv1alpha1.Cluster, permit memberPermit) (*unstructured.Unstructured, error) {
	desired, err := desiredMember(lc, i, permit)
	if err != nil {
		return nil, fmt.Errorf("member %s: %w", lc.Spec.Clusters[i].Name, err)
	}
	if live != nil && !live.DeletionTimestamp.IsZero() {
		return nil, fmt.Errorf("member %s: its Cluster is being deleted; it is recreated once gone", desired.Name)
	}
	changed, err := memberNeedsApply(desired, live)
	if err != nil || !changed {
		return nil, err
	}
	return toUnstructured(desired)
}

// writerFor is the client this pass writes lc's members with: as the ServiceAccount of lc's
// Fleet (or the lockdown's default), checked for creating and patching Clusters when there
// are members to apply and for deleting them when there are former members to remove.
func (r *LogicalClusterReconciler) writerFor(ctx context.Context, lc *intentv1.LogicalCluster, applies []*unstructured.Unstructured, removals []*automationv1alpha1.Cluster) (client.Client, error) {
	writes := make([]client.Object, len(applies))
	for i, u := range applies {
		writes[i] = u
	}
	deletes := make([]client.Object, len(removals))
	for i, c := range removals {
		deletes[i] = c
	}
	return writerOnBehalf(ctx, r.Cache, r.Impersonator, r.Client, r.DefaultServiceAccount, lc,
		tenantWrites{verbs: []string{"create", "patch"}, objs: writes},
		tenantWrites{verbs: []string{"delete"}, objs: deletes})
}

// toUnstructured is the apply configuration of a member: its metadata and spec, no status.
func toUnstructured(c *automationv1alpha1.Cluster) (*unstructured.Unstructured, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(b); err != nil {
		return nil, err
	}
	delete(u.Object, "status")
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	return u, nil
}

// formerMembers are the Clusters this LogicalCluster made for members no longer in its spec.
// Removing a member is not a rollout: it goes at once.
func formerMembers(lc *intentv1.LogicalCluster, clusters map[string]*automationv1alpha1.Cluster) []*automationv1alpha1.Cluster {
	inSpec := make(map[string]bool, len(lc.Spec.Clusters))
	for _, m := range lc.Spec.Clusters {
		inSpec[m.Name] = true
	}
	var out []*automationv1alpha1.Cluster
	for name, c := range clusters {
		if inSpec[name] || !c.DeletionTimestamp.IsZero() || !metav1.IsControlledBy(c, lc) {
			continue
		}
		out = append(out, c)
	}
	return out
}

// removeFormerMembers deletes the former members with writer.
func removeFormerMembers(ctx context.Context, writer client.Client, removals []*automationv1alpha1.Cluster) []error {
	var errs []error
	for _, c := range removals {
		if err := writer.Delete(ctx, c, client.Preconditions{UID: &c.UID}); client.IgnoreNotFound(err) != nil {
			errs = append(errs, fmt.Errorf("removing former member %s: %w", c.Name, err))
		}
	}
	return errs
}
