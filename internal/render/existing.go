package render

import (
	controlplanev1alpha1 "github.com/dcn-ssu/lkaas/api/controlplane/v1alpha1"
	infrastructurev1alpha1 "github.com/dcn-ssu/lkaas/api/infrastructure/v1alpha1"
	"github.com/dcn-ssu/lkaas/internal/resolve"
)

// CAPIManagedByLabel is Cluster API's label for an infrastructure object that a controller
// other than its provider's fulfils (cluster.x-k8s.io/managed-by).
const CAPIManagedByLabel = "cluster.x-k8s.io/managed-by"

// existingRepresentation is what an existing cluster with add-ons is represented by in
// Cluster API: a CAPI Cluster whose infrastructureRef is an ExistingCluster and whose
// controlPlaneRef is an ExistingControlPlane, both fulfilled by L-KaaS (the ExistingCluster's
// spec.controlPlaneEndpoint from the kubeconfig and status.initialization.provisioned from its
// probe, the ExistingControlPlane's status.initialization.controlPlaneInitialized and Available
// condition from the same probe; the render leaves all of them out, since they come from the
// cluster, not from Git). CAPI's ClusterCache then reaches the cluster with its own
// <name>-kubeconfig, ClusterResourceSets and HelmChartProxies select the CAPI Cluster by the
// add-on labels as for any cluster, and CAPI reports the control plane initialized from the
// ExistingControlPlane (without a controlPlaneRef it would look for control-plane Machines,
// and an existing cluster has none). With a controlPlaneRef CAPI also leaves the kubeconfig
// Secret to the control plane, that is to the operator who wrote it.
func existingRepresentation(plan *resolve.Plan) []map[string]any {
	infraGV := infrastructurev1alpha1.GroupVersion
	cpGV := controlplanev1alpha1.GroupVersion
	cluster := map[string]any{
		"apiVersion": clusterGroup + "/v1beta2",
		"kind":       "Cluster",
		"metadata":   map[string]any{"name": plan.Name},
		"spec": map[string]any{
			"infrastructureRef": map[string]any{
				"apiGroup": infraGV.Group,
				"kind":     infrastructurev1alpha1.ExistingClusterKind,
				"name":     plan.Name,
			},
			"controlPlaneRef": map[string]any{
				"apiGroup": cpGV.Group,
				"kind":     controlplanev1alpha1.ExistingControlPlaneKind,
				"name":     plan.Name,
			},
		},
	}
	infra := map[string]any{
		"apiVersion": infraGV.String(),
		"kind":       infrastructurev1alpha1.ExistingClusterKind,
		"metadata": map[string]any{
			"name":   plan.Name,
			"labels": map[string]any{CAPIManagedByLabel: infrastructurev1alpha1.ManagedByValue},
		},
		"spec": map[string]any{},
	}
	controlPlane := map[string]any{
		"apiVersion": cpGV.String(),
		"kind":       controlplanev1alpha1.ExistingControlPlaneKind,
		"metadata":   map[string]any{"name": plan.Name},
		"spec":       map[string]any{},
	}
	return []map[string]any{cluster, infra, controlPlane}
}
