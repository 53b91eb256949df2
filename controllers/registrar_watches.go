package controllers

import (
	"context"
	"maps"
	"strings"

	"github.com/fluxcd/pkg/runtime/conditions"
	"k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/controller-runtime/pkg/event"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
)

// SetupWithManager registers the cluster registrar: every change of a Cluster (its status
// says when it is Available), its kubeconfig Secret (CAPI rotates it), and its Fleet's EMCO
// settings or credentials.
func (r *ClusterRegistrar) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("emco-cluster").
		For(&automationv1alpha1.Cluster{}, builder.WithPredicates(registrationInputsChanged())).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(mapKubeconfigSecret), builder.OnlyMetadata,
			builder.WithPredicates(predicate.NewPredicateFuncs(func(o client.Object) bool {
				return strings.HasSuffix(o.GetName(), "-kubeconfig")
			}))).
		Watches(&automationv1alpha1.Fleet{}, handler.EnqueueRequestsFromMapFunc(r.clustersOfFleet),
			builder.WithPredicates(emcoSettingsChanged())).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(1, r.MaxConcurrentReconciles)}).
		Complete(r)
}

// registrationInputsChanged passes the Cluster updates that can change its registration: spec,
// labels, deletion, CAPI's Available and the kubeconfig Secret the registrar reads. The
// registrar's own status writes and the Cluster controller's other status changes pass no
// more: each would cost a round of EMCO reads for nothing. The Secret is compared by the
// name the registrar reads (kubeconfigSecretName), not by the status field: the Cluster
// controller records CAPI's default name once the Secret exists, and that is no new input.
func registrationInputsChanged() predicate.Funcs {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		old, okOld := e.ObjectOld.(*automationv1alpha1.Cluster)
		cur, okNew := e.ObjectNew.(*automationv1alpha1.Cluster)
		if !okOld || !okNew {
			return true
		}
		return old.Generation != cur.Generation || !maps.Equal(old.Labels, cur.Labels) ||
			!old.DeletionTimestamp.Equal(cur.DeletionTimestamp) ||
			conditions.IsTrue(old, AvailableCondition) != conditions.IsTrue(cur, AvailableCondition) ||
			kubeconfigSecretName(old) != kubeconfigSecretName(cur)
	}}
}

// memberRegistrationChanged passes the member updates a logical cloud follows: a member's EMCO
// registration, its deletion, its membership.
func memberRegistrationChanged() predicate.Funcs {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		old, okOld := e.ObjectOld.(*automationv1alpha1.Cluster)
		cur, okNew := e.ObjectNew.(*automationv1alpha1.Cluster)
		if !okOld || !okNew {
			return true
		}
		return !equality.Semantic.DeepEqual(old.Status.EMCO, cur.Status.EMCO) ||
			!old.DeletionTimestamp.Equal(cur.DeletionTimestamp) ||
			old.Labels[automationv1alpha1.LogicalClusterLabel] != cur.Labels[automationv1alpha1.LogicalClusterLabel]
	}}
}

// emcoSettingsChanged passes the Fleet updates that change what the registrars tell EMCO: its
// EMCO settings (endpoints, credentials, defaults). Any other edit of the Fleet (its interval,
// its write-back, its path) would only cost a round of EMCO reads per cluster.
func emcoSettingsChanged() predicate.Funcs {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		old, okOld := e.ObjectOld.(*automationv1alpha1.Fleet)
		cur, okNew := e.ObjectNew.(*automationv1alpha1.Fleet)
		if !okOld || !okNew {
			return true
		}
		return !equality.Semantic.DeepEqual(old.Spec.EMCO, cur.Spec.EMCO)
	}}
}

func (r *ClusterRegistrar) clustersOfFleet(ctx context.Context, o client.Object) []ctrl.Request {
	return fleetClusterRequests(ctx, r.Cache, o)
}

// SetupWithManager registers the logical-cloud registrar: the LogicalCluster, its member
// Clusters (registration and deletion), and its Fleet's EMCO settings.
func (r *LogicalCloudRegistrar) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("emco-logicalcloud").
		For(&intentv1.LogicalCluster{}, builder.WithPredicates(predicate.Or[client.Object](
			predicate.GenerationChangedPredicate{}, predicate.LabelChangedPredicate{}))).
		Watches(&automationv1alpha1.Cluster{}, handler.EnqueueRequestsFromMapFunc(mapMemberToLogicalCluster),
			builder.WithPredicates(memberRegistrationChanged())).
		Watches(&automationv1alpha1.Fleet{}, handler.EnqueueRequestsFromMapFunc(r.logicalClustersOfFleet),
			builder.WithPredicates(emcoSettingsChanged())).
		Complete(r)
}

func mapMemberToLogicalCluster(_ context.Context, o client.Object) []ctrl.Request {
	name := o.GetLabels()[automationv1alpha1.LogicalClusterLabel]
	if name == "" {
		return nil
	}
	return []ctrl.Request{{NamespacedName: client.ObjectKey{Namespace: o.GetNamespace(), Name: name}}}
}

func (r *LogicalCloudRegistrar) logicalClustersOfFleet(ctx context.Context, o client.Object) []ctrl.Request {
	var list intentv1.LogicalClusterList
	if err := r.Cache.List(ctx, &list, fleetSelector(o)); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "listing the LogicalClusters of a Fleet")
		return nil
	}
	reqs := make([]ctrl.Request, len(list.Items))
	for i := range list.Items {
		reqs[i].NamespacedName = client.ObjectKeyFromObject(&list.Items[i])
	}
	return reqs
}
