package controllers

import (
	"context"
	"errors"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/internal/apply"
	"github.com/dcn-ssu/lkaas/internal/render"
	"github.com/dcn-ssu/lkaas/internal/repofiles"
)

var kubeadmControlPlaneGVK = schema.GroupVersionKind{Group: "controlplane.cluster.x-k8s.io", Version: "v1beta2", Kind: "KubeadmControlPlane"}

// WatchedClusterAPIKinds are the Cluster API kinds (core, kubeadm control plane, add-on
// providers) the Cluster controller watches, each only if the API server serves it when the
// controller is set up. The manager polls for those that were not served and restarts when
// one appears (internal/manager), so that installing Cluster API after L-KaaS needs no
// manual restart.
func WatchedClusterAPIKinds() []schema.GroupVersionKind {
	return []schema.GroupVersionKind{capiClusterGVK, kubeadmControlPlaneGVK, machineDeploymentGVK, crsBindingGVK, helmReleaseProxyGVK}
}

// SetupWithManager registers the reconciler and its watches: the cluster itself (spec,
// labels, annotations such as paused and the rollout permit), the CAPI objects it owns
// (status), the inputs of its render (profiles, catalogs, repository files, the Fleet's
// variablesFrom Secrets and ConfigMaps, the Fleet's spec) and the kubeconfig Secret and
// add-on reports.
func (r *ClusterReconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager) error {
	if kindServed(mgr.GetRESTMapper(), machineDeploymentGVK) {
		md := &unstructured.Unstructured{}
		md.SetGroupVersionKind(machineDeploymentGVK)
		if err := mgr.GetFieldIndexer().IndexField(ctx, md, machineDeploymentClusterField, machineDeploymentCluster); err != nil {
			return err
		}
	}

	b := ctrl.NewControllerManagedBy(mgr).
		Named("cluster").
		For(&automationv1alpha1.Cluster{}, builder.WithPredicates(predicate.Or[client.Object](
			predicate.GenerationChangedPredicate{},
			predicate.AnnotationChangedPredicate{},
			predicate.LabelChangedPredicate{},
		))).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(1, r.Settings.MaxConcurrentReconciles)})

	// CAPI objects: mapped by the render's cluster label, or CAPI's own cluster-name label
	// for what CAPI creates (topology MachineDeployments, add-on reports).
	byLabel := handler.EnqueueRequestsFromMapFunc(mapByClusterLabel)
	for _, gvk := range WatchedClusterAPIKinds() {
		if !kindServed(mgr.GetRESTMapper(), gvk) {
			continue // that provider is not installed (yet: the manager restarts when it is)
		}
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(gvk)
		b = b.Watches(u, byLabel)
	}

	b = b.Watches(&automationv1alpha1.InfrastructureProfile{}, handler.EnqueueRequestsFromMapFunc(r.clustersSeeing)).
		Watches(&automationv1alpha1.ClusterCatalog{}, handler.EnqueueRequestsFromMapFunc(r.clustersSeeing)).
		Watches(&corev1.ConfigMap{}, handler.EnqueueRequestsFromMapFunc(r.mapConfigMap)).
		// Metadata only: the cache must not hold every Secret's data. A change of the data
		// still changes the resourceVersion, so the watch sees it; the render reads the data
		// itself (fleetVariables).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.mapSecret), builder.OnlyMetadata).
		// A Fleet's spec names its clusters' shared profile namespaces and variablesFrom.
		Watches(&automationv1alpha1.Fleet{}, handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []ctrl.Request {
			return fleetClusterRequests(ctx, r.Cache, o)
		}), builder.WithPredicates(predicate.GenerationChangedPredicate{}))
	return b.Complete(r)
}

// mapConfigMap maps a files ConfigMap to the clusters that can see it, and a Fleet's
// variablesFrom ConfigMap to the Fleet's clusters.
func (r *ClusterReconciler) mapConfigMap(ctx context.Context, o client.Object) []ctrl.Request {
	var reqs []ctrl.Request
	if _, ok := o.GetLabels()[repofiles.FilesLabel]; ok {
		reqs = r.clustersSeeing(ctx, o)
	}
	return append(reqs, r.clustersUsingVariables(ctx, "ConfigMap", o)...)
}

// mapSecret maps a "<cluster>-kubeconfig" Secret to its cluster, and a Fleet's variablesFrom
// Secret to the Fleet's clusters.
func (r *ClusterReconciler) mapSecret(ctx context.Context, o client.Object) []ctrl.Request {
	var reqs []ctrl.Request
	if strings.HasSuffix(o.GetName(), "-kubeconfig") {
		reqs = mapKubeconfigSecret(ctx, o)
	}
	return append(reqs, r.clustersUsingVariables(ctx, "Secret", o)...)
}

// clustersUsingVariables maps a Secret or ConfigMap to the clusters of every Fleet of its
// namespace that names it in variablesFrom (a Fleet reads them only from its own namespace),
// so that their render substitutes the new values. Most objects are named by no Fleet: one
// list of the namespace's Fleets from the cache tells.
func (r *ClusterReconciler) clustersUsingVariables(ctx context.Context, kind string, o client.Object) []ctrl.Request {
	var fleets automationv1alpha1.FleetList
	if err := r.Cache.List(ctx, &fleets, client.InNamespace(o.GetNamespace())); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "listing Fleets for a variables object")
		return nil
	}
	var reqs []ctrl.Request
	for _, f := range fleets.Items {
		if !slices.ContainsFunc(f.Spec.VariablesFrom, func(ref automationv1alpha1.VariablesReference) bool {
			return ref.Kind == kind && ref.Name == o.GetName()
		}) {
			continue
		}
		var clusters automationv1alpha1.ClusterList
		if err := r.Cache.List(ctx, &clusters, client.InNamespace(f.Namespace),
			client.MatchingLabels{apply.FleetNameLabel: f.Name, apply.FleetNamespaceLabel: f.Namespace}); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "listing Clusters of a Fleet for a variables object")
			return nil
		}
		for _, c := range clusters.Items {
			reqs = append(reqs, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(&c)})
		}
	}
	return reqs
}

func kindServed(mapper meta.RESTMapper, gvk schema.GroupVersionKind) bool {
	_, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	return err == nil
}

func isNoMatch(err error) bool {
	var noMatch *meta.NoKindMatchError
	return meta.IsNoMatchError(err) || errors.As(err, &noMatch)
}

// mapByClusterLabel maps an object to the L-KaaS Cluster it was rendered for (or, failing
// that, the CAPI cluster it belongs to: CAPI Clusters share the L-KaaS Cluster's name). A
// ClusterResourceSetBinding is named after its cluster.
func mapByClusterLabel(_ context.Context, o client.Object) []ctrl.Request {
	name := o.GetLabels()[render.ClusterLabel]
	if name == "" {
		name = o.GetLabels()[capiClusterLabel]
	}
	if name == "" && (o.GetObjectKind().GroupVersionKind().Kind == crsBindingGVK.Kind || o.GetObjectKind().GroupVersionKind().Kind == capiClusterGVK.Kind) {
		name = o.GetName()
	}
	if name == "" {
		return nil
	}
	return []ctrl.Request{{NamespacedName: client.ObjectKey{Namespace: o.GetNamespace(), Name: name}}}
}

func mapKubeconfigSecret(_ context.Context, o client.Object) []ctrl.Request {
	return []ctrl.Request{{NamespacedName: client.ObjectKey{Namespace: o.GetNamespace(), Name: strings.TrimSuffix(o.GetName(), "-kubeconfig")}}}
}

// clustersSeeing maps a render input (profile, catalog, files ConfigMap) to the clusters that
// can see it: those of its namespace, and every cluster when the namespace is a shared
// profile namespace (by default or for some Fleet). Resolving which clusters really use it
// would need the render; a pass over an unaffected cluster is cheap and writes nothing.
func (r *ClusterReconciler) clustersSeeing(ctx context.Context, o client.Object) []ctrl.Request {
	opts := []client.ListOption{client.InNamespace(o.GetNamespace())}
	if r.isSharedNamespace(ctx, o.GetNamespace()) {
		opts = nil
	}
	var clusters automationv1alpha1.ClusterList
	if err := r.Cache.List(ctx, &clusters, opts...); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "listing Clusters for a render input")
		return nil
	}
	reqs := make([]ctrl.Request, len(clusters.Items))
	for i, c := range clusters.Items {
		reqs[i].Namespace, reqs[i].Name = c.Namespace, c.Name
	}
	return reqs
}

func (r *ClusterReconciler) isSharedNamespace(ctx context.Context, ns string) bool {
	if slices.Contains(r.defaultSharedNamespaces(), ns) {
		return true
	}
	var fleets automationv1alpha1.FleetList
	if err := r.Cache.List(ctx, &fleets); err != nil {
		return false
	}
	for _, f := range fleets.Items {
		if slices.Contains(f.Spec.SharedProfileNamespaces, ns) {
			return true
		}
	}
	return false
}

// fleetClusterRequests maps a Fleet to the Clusters it applied (by the Fleet labels).
func fleetClusterRequests(ctx context.Context, cache client.Reader, fleet client.Object) []ctrl.Request {
	var list automationv1alpha1.ClusterList
	if err := cache.List(ctx, &list, fleetSelector(fleet)); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "listing the Clusters of a Fleet")
		return nil
	}
	reqs := make([]ctrl.Request, len(list.Items))
	for i := range list.Items {
		reqs[i].NamespacedName = client.ObjectKeyFromObject(&list.Items[i])
	}
	return reqs
}

func fleetSelector(fleet client.Object) client.MatchingLabels {
	return client.MatchingLabels{apply.FleetNameLabel: fleet.GetName(), apply.FleetNamespaceLabel: fleet.GetNamespace()}
}

// machineDeploymentClusterField indexes MachineDeployments by spec.clusterName, so a pass
// reads its cluster's pools without going through every pool of the namespace.
const machineDeploymentClusterField = "spec.clusterName"

func machineDeploymentCluster(o client.Object) []string {
	u, ok := o.(*unstructured.Unstructured)
	if !ok {
		return nil
	}
	name, _, _ := unstructured.NestedString(u.Object, "spec", "clusterName")
	return []string{name}
}
