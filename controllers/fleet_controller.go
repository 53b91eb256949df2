package controllers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/fluxcd/pkg/runtime/patch"
	"github.com/fluxcd/pkg/runtime/predicates"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
	"github.com/dcn-ssu/lkaas/internal/apply"
	"github.com/dcn-ssu/lkaas/internal/source"
)

// FleetFinalizer lets a Fleet prune what it applied before it goes away.
const FleetFinalizer = automationv1alpha1.LabelPrefix + "fleet"

// Reasons of the Fleet's conditions and events.
const (
	ReasonArtifactFailed   = "ArtifactFailed"
	ReasonAccessDenied     = "AccessDenied"
	ReasonValidationFailed = "ValidationFailed"
	ReasonDeletionHeld     = "DeletionHeld"
	ReasonApplyFailed      = "ApplyFailed"
	ReasonPruneFailed      = "PruneFailed"
	ReasonSucceeded        = "ReconciliationSucceeded"
	ReasonSuspended        = "Suspended"

	// DeletionHeldCondition is True while the deletion guard holds a revision back.
	DeletionHeldCondition = "DeletionHeld"
	// UpgradeRefusedCondition is True while clusters of the Fleet refuse their change by a
	// Kubernetes version rule (their Ready reason is ReasonUpgradeRefused); it names them.
	UpgradeRefusedCondition = "UpgradeRefused"
)

// FleetReconciler turns each revision of a Fleet's Flux source into the L-KaaS objects of the
// Fleet's namespace: fetch, build (load + validate + resolve, all or nothing), guard, apply,
// prune, report.
type FleetReconciler struct {
	client.Client
	// Cache is the manager's informer-backed reader; apply compares against it, so steady
	// state costs no API request per object.
	Cache    client.Reader
	Events   events.EventRecorder
	Fetcher  *source.Fetcher
	Builds   *BuildCache
	Appliers *ApplierCache
	Metrics  *FleetMetrics
	Settings FleetSettings
	// Impersonator gives the clients that write as a Fleet's ServiceAccount; nil: Fleets
	// with a ServiceAccount are refused (a misconfigured controller must not write as itself).
	Impersonator *Impersonator
}

// FleetSettings are the controller-wide options of the Fleet reconciler.
type FleetSettings struct {
	// AllowCrossNamespaceRefs lets a Fleet use a source in another namespace.
	AllowCrossNamespaceRefs bool
	// DefaultSharedProfileNamespaces apply to Fleets that name none.
	DefaultSharedProfileNamespaces []string
	// MaxConcurrentReconciles of Fleets.
	MaxConcurrentReconciles int
	// DefaultServiceAccount is impersonated for Fleets that name no spec.serviceAccountName
	// (--default-service-account, Flux's multi-tenancy lockdown); empty: the controller's own.
	DefaultServiceAccount string
}

const sourceRefIndex = ".spec.sourceRef"

func sourceIndexKey(kind, namespace, name string) string { return kind + "/" + namespace + "/" + name }

// SetupWithManager registers the reconciler and its watches: the Fleet itself, the revision of
// its source, and drift of the objects it applied.
func (r *FleetReconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(ctx, &automationv1alpha1.Fleet{}, sourceRefIndex, func(o client.Object) []string {
		f := o.(*automationv1alpha1.Fleet)
		key := source.Key(f.Namespace, f.Spec.SourceRef)
		return []string{sourceIndexKey(f.Spec.SourceRef.Kind, key.Namespace, key.Name)}
	}); err != nil {
		return err
	}
	b := ctrl.NewControllerManagedBy(mgr).
		For(&automationv1alpha1.Fleet{}, builder.WithPredicates(predicate.Or[client.Object](
			predicate.GenerationChangedPredicate{},
			predicates.ReconcileRequestedPredicate{},
			approvalChanged{},
		))).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(1, r.Settings.MaxConcurrentReconciles)})
	for kind, obj := range map[string]client.Object{
		sourcev1.GitRepositoryKind: &sourcev1.GitRepository{},
		sourcev1.OCIRepositoryKind: &sourcev1.OCIRepository{},
		sourcev1.BucketKind:        &sourcev1.Bucket{},
	} {
		b = b.Watches(obj, handler.EnqueueRequestsFromMapFunc(r.fleetsUsingSource(kind)),
			builder.WithPredicates(sourceRevisionChanged{}))
	}
	for _, obj := range []client.Object{
		&automationv1alpha1.InfrastructureProfile{}, &automationv1alpha1.ClusterCatalog{},
		&automationv1alpha1.Cluster{}, &intentv1.LogicalCluster{},
	} {
		b = b.Watches(obj, apply.EnqueueOwningFleet(), builder.WithPredicates(predicate.Or(apply.DriftPredicate(), clusterPhaseChanged{})))
	}
	return b.Complete(r)
}

func (r *FleetReconciler) fleetsUsingSource(kind string) handler.MapFunc {
	return func(ctx context.Context, src client.Object) []ctrl.Request {
		var fleets automationv1alpha1.FleetList
		if err := r.List(ctx, &fleets, client.MatchingFields{sourceRefIndex: sourceIndexKey(kind, src.GetNamespace(), src.GetName())}); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "listing Fleets of a source")
			return nil
		}
		reqs := make([]ctrl.Request, len(fleets.Items))
		for i, f := range fleets.Items {
			reqs[i].Namespace, reqs[i].Name = f.Namespace, f.Name
		}
		return reqs
	}
}

// Reconcile is one pass over a Fleet.
func (r *FleetReconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	start := time.Now()
	fleet := &automationv1alpha1.Fleet{}
	if err := r.Get(ctx, req.NamespacedName, fleet); err != nil {
		if apierrors.IsNotFound(err) {
			r.Builds.Forget(req.NamespacedName)
			r.Appliers.Forget(req.NamespacedName)
			r.Metrics.Forget(req.Namespace, req.Name)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}

	if !fleet.DeletionTimestamp.IsZero() {
		return r.finalize(ctx, fleet)
	}
	if fleet.Spec.Suspend {
		ctrl.LoggerFrom(ctx).Info("reconciliation is suspended for this Fleet")
		return ctrl.Result{}, nil
	}

	patcher := patch.NewSerialPatcher(fleet, r.Client)
	if !controllerutil.ContainsFinalizer(fleet, FleetFinalizer) {
		controllerutil.AddFinalizer(fleet, FleetFinalizer)
		if err := patcher.Patch(ctx, fleet); err != nil {
			return ctrl.Result{}, err
		}
	}
	defer func() {
		r.Metrics.Record(fleet, time.Since(start))
		if err := patcher.Patch(ctx, fleet, patch.WithOwnedConditions{Conditions: []string{
			meta.ReadyCondition, meta.ReconcilingCondition, meta.StalledCondition, DeletionHeldCondition, UpgradeRefusedCondition,
		}}, patch.WithFieldOwner(apply.DefaultFieldManager)); ignoreNotFound(err) != nil {
			retErr = kerrors.NewAggregate([]error{retErr, err})
		}
	}()

	if fleet.Spec.Timeout != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, fleet.Spec.Timeout.Duration)
		defer cancel()
	}
	retry := fleet.Spec.Interval.Duration
	if fleet.Spec.RetryInterval != nil {
		retry = fleet.Spec.RetryInterval.Duration
	}
	if err := r.reconcile(ctx, fleet); err != nil {
		var stalled *stalledError
		if errors.As(err, &stalled) {
			return ctrl.Result{}, nil
		}
		return ctrl.Result{RequeueAfter: retry}, nil
	}
	return ctrl.Result{RequeueAfter: fleet.GetRequeueAfter()}, nil
}

// ignoreNotFound drops NotFound, also inside the aggregate errors the patch helper returns:
// an object deleted during its pass has no status left to write.
func ignoreNotFound(err error) error {
	if agg, ok := err.(kerrors.Aggregate); ok {
		return kerrors.FilterOut(agg, apierrors.IsNotFound)
	}
	return client.IgnoreNotFound(err)
}

// stalledError is a failure that no retry can mend: only a change of the Fleet can.
type stalledError struct{ error }

// reconcile is the story of one revision; it records its outcome in the Fleet's conditions
// and returns an error when the revision is not (fully) applied.
func (r *FleetReconciler) reconcile(ctx context.Context, fleet *automationv1alpha1.Fleet) error {
	fleet.Status.ObservedGeneration = fleet.Generation
	if v, ok := meta.ReconcileAnnotationValue(fleet.GetAnnotations()); ok {
		fleet.Status.LastHandledReconcileAt = v
	}

	src, err := source.Get(ctx, r.Client, fleet.Namespace, fleet.Spec.SourceRef, r.Settings.AllowCrossNamespaceRefs)
	if err != nil {
		var denied *source.AccessDeniedError
		if errors.As(err, &denied) {
			conditions.MarkStalled(fleet, ReasonAccessDenied, "%s", err)
			return r.fail(fleet, ReasonAccessDenied, &stalledError{err})
		}
		return r.fail(fleet, ReasonArtifactFailed, fmt.Errorf("source %s %s: %w", fleet.Spec.SourceRef.Kind, source.Key(fleet.Namespace, fleet.Spec.SourceRef), err))
	}
	artifact := src.GetArtifact()
	if artifact == nil {
		return r.fail(fleet, ReasonArtifactFailed, errors.New("the source is not ready: it has no artifact yet"))
	}
	revision := artifact.Revision
	fleet.Status.LastAttemptedRevision = revision

	desired, err := r.build(ctx, fleet, artifact)
	if err != nil {
		return r.fail(fleet, ReasonValidationFailed, err)
	}

	applier, err := r.applierFor(ctx, fleet, desired)
	if err != nil {
		var denied *RBACError
		if errors.As(err, &denied) {
			return r.fail(fleet, ReasonRBACForbidden, err)
		}
		return r.fail(fleet, ReasonApplyFailed, err)
	}
	prev := inventoryEntries(fleet)
	if fleet.Spec.Prune {
		deletion, err := applier.PlanClusterDeletion(ctx, prev, desired)
		if err != nil {
			return r.fail(fleet, ReasonApplyFailed, err)
		}
		approved := fleet.GetAnnotations()[automationv1alpha1.ApproveDeletionAnnotation]
		if err := apply.CheckDeletionGuard(deletion, fleet.Spec.DeletionGuard, approved, revision); err != nil {
			conditions.MarkTrue(fleet, DeletionHeldCondition, ReasonDeletionHeld, "%s", err)
			return r.fail(fleet, ReasonDeletionHeld, err)
		}
	}
	conditions.Delete(fleet, DeletionHeldCondition)

	changes, inventory, err := applier.Apply(ctx, desired, prev, revision)
	if inventory != nil {
		fleet.Status.Inventory = &automationv1alpha1.Inventory{Entries: inventory}
	}
	if err != nil {
		return r.fail(fleet, writeFailureReason(err, ReasonApplyFailed), err)
	}
	if fleet.Spec.Prune {
		pruned, err := applier.Prune(ctx, apply.Stale(prev, inventory))
		changes.Append(pruned)
		if err != nil {
			return r.fail(fleet, writeFailureReason(err, ReasonPruneFailed), err)
		}
	}

	counts, refused, err := r.clusterSummary(ctx, fleet)
	if err != nil {
		return r.fail(fleet, ReasonApplyFailed, err)
	}
	fleet.Status.Clusters = counts

	firstTime := fleet.Status.LastAppliedRevision != revision
	fleet.Status.LastAppliedRevision = revision
	conditions.Delete(fleet, meta.ReconcilingCondition)
	conditions.Delete(fleet, meta.StalledCondition)
	if len(refused) > 0 {
		// Applied, but not what Git asks for: clusters refuse their change and stay as they
		// run. Ready says so (it is the message `kubectl get fleet` shows); only a new
		// commit mends it, so there is nothing to retry.
		msg := refusedMessage(refused)
		conditions.MarkTrue(fleet, UpgradeRefusedCondition, ReasonUpgradeRefused, "%s", msg)
		conditions.MarkFalse(fleet, meta.ReadyCondition, ReasonUpgradeRefused, "Applied revision: %s; %s", revision, msg)
	} else {
		conditions.Delete(fleet, UpgradeRefusedCondition)
		conditions.MarkTrue(fleet, meta.ReadyCondition, ReasonSucceeded, "Applied revision: %s", revision)
	}
	if firstTime || changes.Changed() {
		r.Events.Eventf(fleet, nil, corev1.EventTypeNormal, ReasonSucceeded, "Apply",
			"Applied revision %s: %s", revision, changes.Summary())
	}
	return nil
}

// applierFor returns the Fleet's Applier, which stamps and confines objects to the Fleet and
// remembers what it has already compared, so a steady-state pass is cheap. When the Fleet
// writes as a ServiceAccount, the Applier writes through a client impersonating it (reads
// stay on the shared cache), and the ServiceAccount's right to every write the revision
// needs is checked first (answers that allow are remembered for a minute): a refusal is an
// *RBACError and nothing is written.
func (r *FleetReconciler) applierFor(ctx context.Context, fleet *automationv1alpha1.Fleet, desired []client.Object) (*apply.Applier, error) {
	sa := serviceAccountOf(fleet, r.Settings.DefaultServiceAccount)
	writer := r.Client
	if sa != "" {
		if r.Impersonator == nil {
			return nil, fmt.Errorf("the Fleet writes as ServiceAccount %s but the controller cannot impersonate", sa)
		}
		if err := r.Impersonator.CheckWrites(ctx, fleet.Namespace, sa, desired, fleet.Spec.Prune); err != nil {
			return nil, err
		}
		c, err := r.Impersonator.ClientFor(fleet.Namespace, sa)
		if err != nil {
			return nil, err
		}
		writer = c
	}
	return r.Appliers.get(client.ObjectKeyFromObject(fleet), sa, func() *apply.Applier {
		return apply.New(writer, r.Cache, apply.Options{Fleet: client.ObjectKeyFromObject(fleet)})
	}), nil
}

// writeFailureReason names RBAC when the API server refused a write.
func writeFailureReason(err error, otherwise string) string {
	if apierrors.IsForbidden(err) {
		return ReasonRBACForbidden
	}
	return otherwise
}

// fail records a failed pass: Ready=False with the reason, and a warning event.
func (r *FleetReconciler) fail(fleet *automationv1alpha1.Fleet, reason string, err error) error {
	msg := err.Error()
	conditions.MarkFalse(fleet, meta.ReadyCondition, reason, "%s", msg)
	if !conditions.IsStalled(fleet) {
		conditions.MarkReconciling(fleet, meta.ProgressingWithRetryReason, "retrying: %s", firstLine(msg))
	}
	r.Events.Eventf(fleet, nil, corev1.EventTypeWarning, reason, "Reconcile", "%s", msg)
	return err
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// finalize prunes what the Fleet applied (when it prunes) and lets it go.
func (r *FleetReconciler) finalize(ctx context.Context, fleet *automationv1alpha1.Fleet) (ctrl.Result, error) {
	if fleet.Spec.Prune && !fleet.Spec.Suspend {
		applier, err := r.applierFor(ctx, fleet, nil)
		if err != nil {
			return ctrl.Result{}, err
		}
		if _, err := applier.Prune(ctx, inventoryEntries(fleet)); err != nil {
			return ctrl.Result{}, err
		}
	}
	patcher := patch.NewSerialPatcher(fleet, r.Client)
	controllerutil.RemoveFinalizer(fleet, FleetFinalizer)
	r.Builds.Forget(client.ObjectKeyFromObject(fleet))
	r.Appliers.Forget(client.ObjectKeyFromObject(fleet))
	r.Metrics.Forget(fleet.Namespace, fleet.Name)
	// With the finalizer gone the Fleet may be gone too: nothing left to patch.
	return ctrl.Result{}, ignoreNotFound(patcher.Patch(ctx, fleet))
}

func inventoryEntries(fleet *automationv1alpha1.Fleet) []automationv1alpha1.InventoryEntry {
	if fleet.Status.Inventory == nil {
		return nil
	}
	return fleet.Status.Inventory.Entries
}

// clusterSummary counts the Fleet's clusters (its own and logical-cluster members) by phase,
// from the cache, and lists those that refuse their change by a version rule.
func (r *FleetReconciler) clusterSummary(ctx context.Context, fleet *automationv1alpha1.Fleet) (map[string]int32, []refusedCluster, error) {
	// Read in place, not copied: a pass only counts, and a large fleet's clusters wake a pass
	// each time one changes phase.
	var clusters automationv1alpha1.ClusterList
	if err := r.Cache.List(ctx, &clusters, client.InNamespace(fleet.Namespace), client.UnsafeDisableDeepCopy); err != nil {
		return nil, nil, err
	}
	// Every phase is counted, zeros too. The status is merge-patched against the Fleet read
	// from the cache; when that copy lags behind, a patch cannot remove a phase key it has not
	// seen, and a stale count would stay. With a fixed set of keys no key is ever removed.
	counts := make(map[string]int32, len(automationv1alpha1.ClusterPhases))
	for _, phase := range automationv1alpha1.ClusterPhases {
		counts[string(phase)] = 0
	}
	var refused []refusedCluster
	for i := range clusters.Items {
		c := &clusters.Items[i]
		phase := string(c.Status.Phase)
		if phase == "" {
			phase = string(automationv1alpha1.ClusterPhasePending)
		}
		counts[phase]++
		if why := upgradeRefusal(c); why != "" {
			refused = append(refused, refusedCluster{name: c.Name, why: why})
		}
	}
	slices.SortFunc(refused, func(a, b refusedCluster) int { return strings.Compare(a.name, b.name) })
	return counts, refused, nil
}

// refusedCluster is a cluster that refuses its change, with its Ready message (which names
// the rule).
type refusedCluster struct{ name, why string }

// upgradeRefusal is the cluster's refusal message while it refuses its change by a version
// rule, else "".
func upgradeRefusal(c *automationv1alpha1.Cluster) string {
	ready := conditions.Get(c, meta.ReadyCondition)
	if ready == nil || ready.Status != metav1.ConditionFalse || ready.Reason != ReasonUpgradeRefused {
		return ""
	}
	return ready.Message
}

// maxRefusedNamed bounds the Fleet's message; the rest are counted (every refused cluster
// says why in its own status).
const maxRefusedNamed = 3

// refusedMessage names the refused clusters and why, e.g. "1 cluster refused its change,
// nothing written for it: central-cluster: kubernetesVersion v1.34.1 is older … (rule
// no-downgrade)".
func refusedMessage(refused []refusedCluster) string {
	var b strings.Builder
	if len(refused) == 1 {
		b.WriteString("1 cluster refused its change, nothing written for it: ")
	} else {
		fmt.Fprintf(&b, "%d clusters refused their change, nothing written for them: ", len(refused))
	}
	for i, c := range refused {
		if i == maxRefusedNamed {
			fmt.Fprintf(&b, " | and %d more", len(refused)-i)
			break
		}
		if i > 0 {
			b.WriteString(" | ") // a cluster's own message may hold a semicolon
		}
		b.WriteString(c.name + ": " + c.why)
	}
	return b.String()
}

// tempDir makes a directory for one artifact, removed by the returned function.
func tempDir(fleet *automationv1alpha1.Fleet) (string, func(), error) {
	dir, err := os.MkdirTemp("", fmt.Sprintf("fleet-%s-%s-", fleet.Namespace, fleet.Name))
	if err != nil {
		return "", nil, err
	}
	return dir, func() { _ = os.RemoveAll(dir) }, nil
}

// artifactPath is the Fleet's path inside the unpacked artifact.
func artifactPath(root, path string) (string, error) {
	p := filepath.Join(root, filepath.Clean("/"+path))
	if rel, err := filepath.Rel(root, p); err != nil || strings.HasPrefix(rel, "..") {
		return "", fmt.Errorf("spec.path %q leaves the artifact", path)
	}
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("spec.path %q not found in the artifact", path)
	}
	return p, nil
}
