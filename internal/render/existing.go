package render

import (
	"fmt"

	infrastructurev1alpha1 "github.com/dcn-ssu/lkaas/api/infrastructure/v1alpha1"
	"github.com/dcn-ssu/lkaas/internal/resolve"
)

// CAPIManagedByLabel is Cluster API's label for an infrastructure object that a controller
// other than its provider's fulfils (cluster.x-k8s.io/managed-by).
const CAPIManagedByLabel = "cluster.x-k8s.io/managed-by"

// existingRepresentation is what an existing cluster with add-ons is represented by in
// Cluster API: a CAPI Cluster whose infrastructureRef is an ExistingCluster that L-KaaS
// fulfils (it fills spec.controlPlaneEndpoint from the kubeconfig and
// status.initialization.provisioned from its probe; the render leaves both out, since they
// come from the cluster, not from Git). CAPI's ClusterCache then reaches the cluster with its
// own <name>-kubeconfig, and ClusterResourceSets select the CAPI Cluster by the add-on labels
// as for any cluster. Helm add-ons are refused: the Helm add-on provider installs only once
// CAPI reports the control plane initialized, which without a control-plane object CAPI
// derives from control-plane Machines, and an existing cluster has none.
func existingRepresentation(plan *resolve.Plan, addons []addonInstance) ([]map[string]any, error) {
	for _, a := range addons {
		for _, o := range a.objects {
			if _, kind := groupKind(o); kind == "HelmChartProxy" {
				return nil, fmt.Errorf("%s installs a Helm chart: Helm add-ons on an existing cluster are not supported "+
					"(the Helm add-on provider waits for a control plane Cluster API initialized, and an existing cluster has none); "+
					"install it with manifests (values.manifests), or by the means that built the cluster", a.describe())
			}
		}
	}
	gv := infrastructurev1alpha1.GroupVersion
	cluster := map[string]any{
		"apiVersion": clusterGroup + "/v1beta2",
		"kind":       "Cluster",
		"metadata":   map[string]any{"name": plan.Name},
		"spec": map[string]any{
			"infrastructureRef": map[string]any{
				"apiGroup": gv.Group,
				"kind":     infrastructurev1alpha1.ExistingClusterKind,
				"name":     plan.Name,
			},
		},
	}
	infra := map[string]any{
		"apiVersion": gv.String(),
		"kind":       infrastructurev1alpha1.ExistingClusterKind,
		"metadata": map[string]any{
			"name":   plan.Name,
			"labels": map[string]any{CAPIManagedByLabel: infrastructurev1alpha1.ManagedByValue},
		},
		"spec": map[string]any{},
	}
	return []map[string]any{cluster, infra}, nil
}
