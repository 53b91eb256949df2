package controllers

import (
	"context"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
)

// writerFor is the client the Cluster controller writes a cluster's CAPI objects with (see
// writerOnBehalf); the ServiceAccount's right to create and patch every resource of the
// render, and to delete what the previous render had and this one drops, is checked first.
func (r *ClusterReconciler) writerFor(ctx context.Context, cluster *automationv1alpha1.Cluster, objs []*unstructured.Unstructured, stale []client.Object) (client.Client, error) {
	writes := make([]client.Object, len(objs))
	for i, o := range objs {
		writes[i] = o
	}
	return writerOnBehalf(ctx, r.Cache, r.Impersonator, r.Client, r.Settings.DefaultServiceAccount, cluster,
		tenantWrites{verbs: []string{"create", "patch"}, objs: writes},
		tenantWrites{verbs: []string{"delete"}, objs: stale})
}

// deleterFor is the client the Cluster controller deletes a cluster's objects with when the
// cluster goes, as the same account that wrote them; its right to delete each is checked
// first.
func (r *ClusterReconciler) deleterFor(ctx context.Context, cluster *automationv1alpha1.Cluster, objs []client.Object) (client.Client, error) {
	return writerOnBehalf(ctx, r.Cache, r.Impersonator, r.Client, r.Settings.DefaultServiceAccount, cluster,
		tenantWrites{verbs: []string{"delete"}, objs: objs})
}

// applyFailureReason names RBAC when the cluster's ServiceAccount may not write its objects.
func applyFailureReason(err error) string {
	if writeFailureReason(err, ReasonApplyFailed) == ReasonRBACForbidden || isRBACError(err) {
		return ReasonRBACForbidden
	}
	return ReasonApplyFailed
}
