package controllers

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/fluxcd/pkg/runtime/patch"
	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
	"github.com/dcn-ssu/lkaas/internal/emco"
)

// LogicalCloudRegistrar gives every LogicalCluster one EMCO logical cloud that references its
// registered members: ensure the cloud, point it at the members, deploy (instantiate once,
// update when members join or leave), then report what dcm says.
type LogicalCloudRegistrar struct {
	client.Client
	Cache   client.Reader
	Events  events.EventRecorder
	Clients *EMCOClients
	// Interval of the pass that repairs what someone changed in EMCO; default 10 minutes.
	Interval time.Duration
	// PollInterval is how often a deployment in progress is polled; default 2 seconds.
	PollInterval time.Duration
}

func (r *LogicalCloudRegistrar) interval() time.Duration {
	if r.Interval > 0 {
		return r.Interval
	}
	return 10 * time.Minute
}

func (r *LogicalCloudRegistrar) pollInterval() time.Duration {
	if r.PollInterval > 0 {
		return r.PollInterval
	}
	return 2 * time.Second
}

// Reconcile is one pass over a LogicalCluster's logical cloud.
func (r *LogicalCloudRegistrar) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	lc := &intentv1.LogicalCluster{}
	if err := r.Get(ctx, req.NamespacedName, lc); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	patcher := patch.NewSerialPatcher(lc, r.Client)
	defer func() {
		if err := patcher.Patch(ctx, lc, patch.WithOwnedConditions{Conditions: []string{RegisteredCondition}},
			patch.WithFieldOwner(registrarFieldManager)); ignoreNotFound(err) != nil {
			retErr = kerrors.NewAggregate([]error{retErr, err})
		}
	}()

	fleet, err := fleetOf(ctx, r.Cache, lc)
	if err != nil {
		return ctrl.Result{}, err
	}
	if !lc.DeletionTimestamp.IsZero() {
		return r.finalize(ctx, lc, fleet)
	}
	if fleet == nil || fleet.Spec.EMCO == nil {
		if lc.Status.EMCO == nil {
			conditions.Delete(lc, RegisteredCondition)
		}
		return ctrl.Result{}, nil
	}
	members, err := r.members(ctx, lc)
	if err != nil {
		return ctrl.Result{}, err
	}
	target, err := r.Clients.Target(ctx, fleet, r.endpointFor(fleet, lc), lc.Labels)
	if err != nil {
		var noEndpoint *errNoEndpoint
		if errors.As(err, &noEndpoint) {
			conditions.MarkFalse(lc, RegisteredCondition, ReasonEndpointNotFound, "%s", err)
			return ctrl.Result{}, nil
		}
		conditions.MarkFalse(lc, RegisteredCondition, ReasonRegistrationFailed, "%s", err)
		return ctrl.Result{}, err
	}

	// The logical cloud moves to another endpoint or project: delete the old one first.
	if rec := lc.Status.EMCO; rec != nil && (rec.Endpoint != target.Endpoint || rec.Project != target.Project || rec.LogicalCloud != lc.Name) {
		if err := r.release(ctx, lc, fleet, rec); err != nil {
			return r.failed(lc, err, "deleting logical cloud %s/%s at %s", rec.Project, rec.LogicalCloud, rec.Endpoint)
		}
		lc.Status.EMCO, lc.Status.LogicalCloud = nil, ""
	}

	refs := wantedReferences(members, target.Endpoint)
	if len(refs) == 0 && lc.Status.EMCO == nil {
		conditions.MarkFalse(lc, RegisteredCondition, ReasonWaitingForMembers, "creates logical cloud %s at EMCO endpoint %s once a member is registered", lc.Name, target.Endpoint)
		return ctrl.Result{}, nil // member Clusters' status changes bring it back
	}
	if !controllerutil.ContainsFinalizer(lc, EMCOFinalizer) {
		controllerutil.AddFinalizer(lc, EMCOFinalizer)
		if err := patcher.Patch(ctx, lc, patch.WithFieldOwner(registrarFieldManager)); err != nil {
			return ctrl.Result{}, err
		}
	}
	change, st, err := r.deploy(ctx, target, lc, refs)
	if st != nil {
		lc.Status.EMCO = recordOf(target, lc, refs, st)
		lc.Status.LogicalCloud = lc.Name
	}
	if err != nil {
		return r.failed(lc, err, "deploying logical cloud %s at %s", lc.Name, target.Endpoint)
	}
	switch change {
	case emco.Created:
		r.Events.Eventf(lc, nil, corev1.EventTypeNormal, ReasonRegistered, "Register", "Instantiated logical cloud %s/%s at EMCO endpoint %s with %d clusters", target.Project, lc.Name, target.Endpoint, len(refs))
	case emco.Updated:
		r.Events.Eventf(lc, nil, corev1.EventTypeNormal, ReasonRegistered, "Register", "Updated logical cloud %s/%s at EMCO endpoint %s to %d clusters", target.Project, lc.Name, target.Endpoint, len(refs))
	}

	deployed := len(refs) > 0 && !st.InProgress() && st.IsInstantiated() && st.DeployedStatus != emco.DeployedInstantiateFailed
	switch {
	case deployed:
		conditions.MarkTrue(lc, RegisteredCondition, ReasonRegistered, "logical cloud %s/%s at EMCO endpoint %s references %d clusters; dcm reports %s",
			target.Project, lc.Name, target.Endpoint, len(refs), st.DeployedStatus)
		return ctrl.Result{RequeueAfter: r.interval()}, nil
	case len(refs) == 0:
		conditions.MarkFalse(lc, RegisteredCondition, ReasonWaitingForMembers, "logical cloud %s/%s has no registered member", target.Project, lc.Name)
		return ctrl.Result{RequeueAfter: r.interval()}, nil
	}
	conditions.MarkFalse(lc, RegisteredCondition, ReasonLogicalCloudBusy, "dcm reports logical cloud %s/%s %s", target.Project, lc.Name, st.DeployedStatus)
	return ctrl.Result{RequeueAfter: r.pollInterval()}, nil
}

// endpointFor is the logical cloud's endpoint: the LogicalCluster's managed-by label, else
// that of its first member (the seed labels members), else the Fleet's default.
func (r *LogicalCloudRegistrar) endpointFor(fleet *automationv1alpha1.Fleet, lc *intentv1.LogicalCluster) string {
	sets := []map[string]string{lc.Labels}
	for _, m := range lc.Spec.Clusters {
		sets = append(sets, m.Labels)
	}
	return endpointName(fleet.Spec.EMCO, sets...)
}

// members lists the LogicalCluster's member Clusters.
func (r *LogicalCloudRegistrar) members(ctx context.Context, lc *intentv1.LogicalCluster) ([]automationv1alpha1.Cluster, error) {
	var list automationv1alpha1.ClusterList
	err := r.Cache.List(ctx, &list, client.InNamespace(lc.Namespace), client.MatchingLabels{automationv1alpha1.LogicalClusterLabel: lc.Name})
	return list.Items, err
}

// wantedReferences are the members EMCO holds at the endpoint, except those being deleted:
// they leave the logical cloud before they leave clm. Sorted by name, so status is stable.
func wantedReferences(members []automationv1alpha1.Cluster, endpoint string) []emco.ClusterReference {
	var refs []emco.ClusterReference
	for i := range members {
		m := &members[i]
		rec := m.Status.EMCO
		if rec == nil || !rec.Registered || rec.Endpoint != endpoint || !m.DeletionTimestamp.IsZero() {
			continue
		}
		refs = append(refs, emco.ClusterReference{
			Metadata: emco.Metadata{Name: rec.Cluster},
			Spec:     emco.ClusterReferenceSpec{ClusterProvider: rec.ClusterProvider, Cluster: rec.Cluster},
		})
	}
	slices.SortFunc(refs, func(a, b emco.ClusterReference) int {
		return cmp.Compare(a.Metadata.Name, b.Metadata.Name)
	})
	return refs
}

// deploy ensures project, rsync entry, the logical cloud (and for level 1 its namespace
// permission), its references and its deployment, and reads back dcm's status. A cloud
// losing its last member is terminated before its references go (contract §4.5).
func (r *LogicalCloudRegistrar) deploy(ctx context.Context, t *emcoTarget, lc *intentv1.LogicalCluster, refs []emco.ClusterReference) (emco.Change, *emco.LogicalCloudStatus, error) {
	c := t.Client
	if _, err := c.EnsureProject(ctx, emco.Project{Metadata: emco.Metadata{Name: t.Project}}); err != nil {
		return emco.Unchanged, nil, err
	}
	if _, err := c.EnsureRsyncController(ctx, t.Rsync.Host, int(t.Rsync.Port)); err != nil {
		return emco.Unchanged, nil, err
	}
	cloud, perms := logicalCloudFor(lc)
	if _, err := c.EnsureLogicalCloud(ctx, t.Project, cloud); err != nil {
		return emco.Unchanged, nil, err
	}
	if cloud.Spec.Level == emco.LevelStandard {
		if _, err := c.EnsureUserPermissions(ctx, t.Project, lc.Name, perms); err != nil {
			return emco.Unchanged, nil, err
		}
	}

	change := emco.Unchanged
	var err error
	if len(refs) == 0 {
		change, err = r.empty(ctx, c, t.Project, lc.Name)
	} else {
		var refChange emco.Change
		if refChange, err = c.EnsureClusterReferences(ctx, t.Project, lc.Name, refs); err == nil {
			change, err = c.EnsureLogicalCloudDeployed(ctx, t.Project, lc.Name)
			if change == emco.Unchanged {
				change = refChange
			}
		}
	}
	// With readiness: status.emco.readyStatus must say Ready against real dcm too.
	st, stErr := c.LogicalCloudStatusWithReadiness(ctx, t.Project, lc.Name)
	if err == nil {
		err = stErr
	}
	return change, st, err
}

// empty takes every reference out of a logical cloud, terminating it first if it is
// instantiated; the cloud itself stays for members that register later.
func (r *LogicalCloudRegistrar) empty(ctx context.Context, c *emco.Client, project, name string) (emco.Change, error) {
	st, err := c.LogicalCloudStatus(ctx, project, name)
	if err != nil {
		return emco.Unchanged, err
	}
	if st.InProgress() {
		return emco.Unchanged, fmt.Errorf("%w: %s/%s is %s", emco.ErrLogicalCloudBusy, project, name, st.DeployedStatus)
	}
	if st.IsInstantiated() {
		if err := c.TerminateLogicalCloud(ctx, project, name); err != nil {
			return emco.Unchanged, err
		}
		return emco.Updated, fmt.Errorf("%w: %s/%s terminating", emco.ErrLogicalCloudBusy, project, name)
	}
	return c.EnsureClusterReferences(ctx, project, name, nil)
}

// logicalCloudFor is the dcm logical cloud of a LogicalCluster. Level 0 (the default) gives
// the tenant the whole clusters; level 1 a namespace on every member, for spec.logicalCloud's
// user, with one permission: everything in that namespace, which dcm requires to instantiate.
func logicalCloudFor(lc *intentv1.LogicalCluster) (emco.LogicalCloud, []emco.UserPermission) {
	cloud := emco.LogicalCloud{
		Metadata: emco.Metadata{Name: lc.Name, Description: "L-KaaS LogicalCluster " + lc.Namespace + "/" + lc.Name},
		Spec:     emco.LogicalCloudSpec{Level: emco.LevelAdmin},
	}
	spec := lc.Spec.LogicalCloud
	if spec == nil || spec.Level != "1" {
		return cloud, nil
	}
	cloud.Spec.Level = emco.LevelStandard
	cloud.Spec.Namespace = spec.Namespace
	cloud.Spec.User = emco.User{UserName: spec.User, Type: "certificate"}
	perm := emco.UserPermission{
		Metadata: emco.Metadata{Name: "namespace-admin", Description: "all of namespace " + spec.Namespace},
		Spec: emco.UserPermissionSpec{Namespace: spec.Namespace,
			APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}},
	}
	return cloud, []emco.UserPermission{perm}
}

func recordOf(t *emcoTarget, lc *intentv1.LogicalCluster, refs []emco.ClusterReference, st *emco.LogicalCloudStatus) *intentv1.LogicalCloudRegistration {
	cloud, _ := logicalCloudFor(lc)
	rec := &intentv1.LogicalCloudRegistration{Endpoint: t.Endpoint, Project: t.Project, LogicalCloud: lc.Name,
		Level: intentv1.LogicalCloudLevel(cloud.Spec.Level), DeployedStatus: st.DeployedStatus, ReadyStatus: st.ReadyStatus}
	for _, ref := range refs {
		rec.Clusters = append(rec.Clusters, ref.Spec.ClusterProvider+"+"+ref.Spec.Cluster)
	}
	return rec
}

// finalize deletes the logical cloud (terminate, every child, then the cloud) before the
// LogicalCluster goes; its members deregister themselves as they are deleted.
func (r *LogicalCloudRegistrar) finalize(ctx context.Context, lc *intentv1.LogicalCluster, fleet *automationv1alpha1.Fleet) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(lc, EMCOFinalizer) {
		return ctrl.Result{}, nil
	}
	if rec := lc.Status.EMCO; rec != nil {
		if err := r.release(ctx, lc, fleet, rec); err != nil {
			conditions.MarkFalse(lc, RegisteredCondition, ReasonDeregistering, "deleting logical cloud %s/%s at EMCO endpoint %s: %s", rec.Project, rec.LogicalCloud, rec.Endpoint, err)
			if after, ok := emcoRetryAfter(err); ok {
				return ctrl.Result{RequeueAfter: after}, nil
			}
			return ctrl.Result{}, err
		}
		lc.Status.EMCO, lc.Status.LogicalCloud = nil, ""
	}
	conditions.MarkFalse(lc, RegisteredCondition, ReasonDeregistered, "no logical cloud in EMCO")
	controllerutil.RemoveFinalizer(lc, EMCOFinalizer)
	return ctrl.Result{}, nil
}

// release deletes the logical cloud rec records; an endpoint no longer configured (or a
// Fleet that is gone) leaves nothing to call, which a warning says.
func (r *LogicalCloudRegistrar) release(ctx context.Context, lc *intentv1.LogicalCluster, fleet *automationv1alpha1.Fleet, rec *intentv1.LogicalCloudRegistration) error {
	if fleet == nil {
		r.Events.Eventf(lc, nil, corev1.EventTypeWarning, ReasonEndpointNotFound, "Deregister",
			"The Fleet is gone: logical cloud %s/%s may be left at EMCO endpoint %s", rec.Project, rec.LogicalCloud, rec.Endpoint)
		return nil
	}
	t, err := r.Clients.Target(ctx, fleet, rec.Endpoint)
	var noEndpoint *errNoEndpoint
	if errors.As(err, &noEndpoint) {
		r.Events.Eventf(lc, nil, corev1.EventTypeWarning, ReasonEndpointNotFound, "Deregister",
			"%s: logical cloud %s/%s may be left there", err, rec.Project, rec.LogicalCloud)
		return nil
	}
	if err != nil {
		return err
	}
	if err := t.Client.DeleteLogicalCloud(ctx, rec.Project, rec.LogicalCloud); err != nil {
		return err
	}
	r.Events.Eventf(lc, nil, corev1.EventTypeNormal, ReasonDeregistered, "Deregister",
		"Deleted logical cloud %s/%s at EMCO endpoint %s", rec.Project, rec.LogicalCloud, rec.Endpoint)
	return nil
}

// failed reports an EMCO failure on the Registered condition and retries.
func (r *LogicalCloudRegistrar) failed(lc *intentv1.LogicalCluster, err error, doing string, args ...any) (ctrl.Result, error) {
	return reportEMCOFailure(lc, r.Events, err, fmt.Sprintf(doing, args...))
}
