package controllers

import (
	"context"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
)

// writerFor is the client the Cluster controller writes a cluster's CAPI objects with: one
// impersonating the ServiceAccount of the cluster's Fleet (or the --default-service-account
// of its namespace, the lockdown), else the controller's own. With a ServiceAccount, its right
// to create and patch every resource of the render is checked first, so a refusal (an
// *RBACError) writes nothing.
func (r *ClusterReconciler) writerFor(ctx context.Context, cluster *automationv1alpha1.Cluster, objs []*unstructured.Unstructured) (client.Client, error) {
	fleet, err := r.fleetOf(ctx, cluster)
	if err != nil {
		return nil, err
	}
	sa := r.Settings.DefaultServiceAccount
	if fleet != nil {
		sa = serviceAccountOf(fleet, r.Settings.DefaultServiceAccount)
	}
	if sa == "" {
		return r.Client, nil
	}
	if r.Impersonator == nil {
		return nil, &RBACError{ServiceAccount: cluster.Namespace + "/" + sa, Verb: "impersonate", Namespace: cluster.Namespace}
	}
	writes := make([]client.Object, len(objs))
	for i, o := range objs {
		writes[i] = o
	}
	if err := r.Impersonator.CheckWrites(ctx, cluster.Namespace, sa, writes, false); err != nil {
		return nil, err
	}
	c, err := r.Impersonator.ClientFor(cluster.Namespace, sa)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// applyFailureReason names RBAC when the cluster's ServiceAccount may not write its objects.
func applyFailureReason(err error) string {
	if writeFailureReason(err, ReasonApplyFailed) == ReasonRBACForbidden || isRBACError(err) {
		return ReasonRBACForbidden
	}
	return ReasonApplyFailed
}
