package render

import (
	"errors"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/dcn-ssu/lkaas/internal/resolve"
)

// setWorkerVersion gives every MachineDeployment of a template-mode render the plan's workers'
// version when the values set one apart (workerKubernetesVersion); templates keep
// ${KUBERNETES_VERSION} for both, so no template needs to change.
func setWorkerVersion(plan *resolve.Plan, objs []map[string]any) {
	if plan.WorkerKubernetesVersion == "" {
		return
	}
	for _, o := range objs {
		if g, k := groupKind(o); g == clusterGroup && k == "MachineDeployment" {
			_ = unstructured.SetNestedField(o, plan.WorkerKubernetesVersion, "spec", "template", "spec", "version")
		}
	}
}

// errTopologyWorkerVersion: CAPI's managed topology has one version for the whole cluster
// and moves the workers itself.
var errTopologyWorkerVersion = errors.New("workerKubernetesVersion is for template-mode clusters: a ClusterClass cluster's workers follow spec.topology.version, which CAPI rolls itself")

// WorkerVersions lists the versions the rendered MachineDeployments ask for, for callers
// that must compare them with what runs.
func WorkerVersions(objs []*unstructured.Unstructured) []string {
	var out []string
	for _, o := range objs {
		if g, k := groupKind(o.Object); g == clusterGroup && k == "MachineDeployment" {
			if v, ok, _ := unstructured.NestedString(o.Object, "spec", "template", "spec", "version"); ok {
				out = append(out, v)
			}
		}
	}
	return out
}
