package controllers

import (
	"context"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
)

// finalize takes a cluster down in order: (EMCO deregistration, once it exists), the CAPI
// Cluster — CAPI deletes machines, control plane and infrastructure behind it — and, once it
// is gone, the rest of what L-KaaS applied. Owner references let the garbage collector do
// that last step too; deleting explicitly makes it independent of a running GC and lets
// shared add-on objects go when their last cluster does.
func (r *ClusterReconciler) finalize(ctx context.Context, cluster *automationv1alpha1.Cluster) (ctrl.Result, error) {
	cluster.Status.Phase = automationv1alpha1.ClusterPhaseDeleting
	conditions.MarkFalse(cluster, meta.ReadyCondition, ReasonDeleting, "deleting the cluster")
	conditions.MarkReconciling(cluster, ReasonDeleting, "deleting the cluster")
	if !controllerutil.ContainsFinalizer(cluster, ClusterFinalizer) {
		return ctrl.Result{}, nil
	}
	if done, err := r.deregister(ctx, cluster); err != nil || !done {
		return ctrl.Result{RequeueAfter: 5 * time.Second}, err
	}
	if cluster.IsExisting() && len(appliedRecord(cluster)) == 0 {
		// Built by other means and without add-ons: L-KaaS wrote nothing for it, so it
		// deletes nothing; a CAPI Cluster of its name is not L-KaaS's, and the cluster and
		// its Secret stay as they are.
		controllerutil.RemoveFinalizer(cluster, ClusterFinalizer)
		return ctrl.Result{}, nil
	}
	// An existing cluster with add-ons goes on like any: its representation (the CAPI
	// Cluster, whose deletion CAPI carries to the ExistingCluster, and the add-on objects)
	// is deleted; its kubeconfig Secret is neither recorded nor owned by either, so it
	// stays, and nothing is ever deleted on the cluster itself.

	// Read around the cache: a stale "still there" costs a pass, a stale "gone" would
	// delete the templates under a CAPI Cluster that still needs them.
	capi := &unstructured.Unstructured{}
	capi.SetGroupVersionKind(capiClusterGVK)
	err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(cluster), capi)
	switch {
	case err == nil && cluster.IsExisting() && !ownedBy(capi, cluster):
		// Not the representation L-KaaS wrote: not L-KaaS's to delete.
	case err == nil:
		if capi.GetDeletionTimestamp() == nil {
			deleter, err := r.deleterFor(ctx, cluster, []client.Object{capi})
			if err != nil {
				return ctrl.Result{}, r.deleteFailed(cluster, err)
			}
			if err := deleter.Delete(ctx, capi); client.IgnoreNotFound(err) != nil {
				return ctrl.Result{}, r.deleteFailed(cluster, err)
			}
		}
		return ctrl.Result{RequeueAfter: 5 * time.Second}, nil // the watch brings us back sooner
	case !apierrors.IsNotFound(err) && !isNoMatch(err):
		return ctrl.Result{}, err
	}

	// The rest goes as the account that wrote it; its right to delete every kind is checked
	// before the first delete.
	applied := appliedRecord(cluster)
	objs := make([]client.Object, len(applied))
	for i, ref := range applied {
		objs[i] = ref.object(cluster.Namespace)
	}
	deleter, err := r.deleterFor(ctx, cluster, objs)
	if err != nil {
		return ctrl.Result{}, r.deleteFailed(cluster, err)
	}
	if err := r.deleteStale(ctx, deleter, cluster, applied, nil); err != nil {
		return ctrl.Result{}, r.deleteFailed(cluster, err)
	}
	controllerutil.RemoveFinalizer(cluster, ClusterFinalizer)
	return ctrl.Result{}, nil
}

// deregister waits for the cluster to leave EMCO before its infrastructure goes: the
// ClusterRegistrar removes EMCOFinalizer once EMCO no longer knows the cluster. It reports
// whether the cluster may go on being deleted.
func (r *ClusterReconciler) deregister(_ context.Context, cluster *automationv1alpha1.Cluster) (bool, error) {
	if controllerutil.ContainsFinalizer(cluster, EMCOFinalizer) {
		conditions.MarkReconciling(cluster, ReasonDeleting, "deregistering from EMCO before the CAPI objects are deleted")
		return false, nil
	}
	return true, nil
}

// deleteFailed records a delete the cluster's account was refused (RBACForbidden) or that
// failed otherwise; the finalizer stays until it succeeds.
func (r *ClusterReconciler) deleteFailed(cluster *automationv1alpha1.Cluster, err error) error {
	reason := applyFailureReason(err)
	if reason != ReasonRBACForbidden {
		return err
	}
	conditions.MarkFalse(cluster, meta.ReadyCondition, reason, "deleting the cluster: %s", err)
	r.Events.Eventf(cluster, nil, corev1.EventTypeWarning, reason, "Delete", "%s", err)
	return err
}

// ownedBy tells whether o has an owner reference to the L-KaaS Cluster.
func ownedBy(o client.Object, cluster *automationv1alpha1.Cluster) bool {
	for _, ref := range o.GetOwnerReferences() {
		if ref.UID == cluster.UID {
			return true
		}
	}
	return false
}
