package render

import (
	"errors"
	"strconv"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/dcn-ssu/lkaas/internal/resolve"
)

// setWorkerVersion gives every MachineDeployment of a template-mode render the plan's workers'
// version when the values set one apart (workerKubernetesVersion); templates keep
// ${KUBERNETES_VERSION} for both, so no template needs to change.
func setWorkerVersion(plan *resolve.Plan, objs []map[string]any, shared *sharedMaps) {
	if plan.WorkerKubernetesVersion == "" {
		return
	}
	for _, o := range objs {
		if g, k := groupKind(o); g == clusterGroup && k == "MachineDeployment" {
			// unstructured.SetNestedField, into copies of the shared maps on the way (shared.go).
			if spec, ok := shared.ownedMap(o, "spec", "template", "spec"); ok {
				spec["version"] = plan.WorkerKubernetesVersion
			}
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

// The cluster autoscaler's Cluster API provider reads a node group's range from these
// annotations on the MachineDeployment (or on a topology's machineDeployments entry).
const (
	AutoscalerMinSizeAnnotation = "cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size"
	AutoscalerMaxSizeAnnotation = "cluster.x-k8s.io/cluster-api-autoscaler-node-group-max-size"
)

// setWorkerAutoscaling hands every MachineDeployment of a template-mode render to the
// cluster autoscaler when the plan gives a range: the range's annotations go on, and
// spec.replicas comes off, so L-KaaS never owns the count the autoscaler changes. Cluster
// API defaults a new MachineDeployment's replicas to the minimum and keeps a running one's
// (clamped into the range) when replicas is absent.
func setWorkerAutoscaling(plan *resolve.Plan, objs []map[string]any, shared *sharedMaps) {
	if plan.WorkerAutoscaling == nil {
		return
	}
	for _, o := range objs {
		if g, k := groupKind(o); g == clusterGroup && k == "MachineDeployment" {
			annotations, _, _ := unstructured.NestedStringMap(o, "metadata", "annotations")
			if annotations == nil {
				annotations = map[string]string{}
			}
			for k, v := range autoscalerAnnotations(plan.WorkerAutoscaling) {
				annotations[k] = v
			}
			_ = unstructured.SetNestedStringMap(o, annotations, "metadata", "annotations")
			if spec, ok := o["spec"].(map[string]any); ok {
				if _, set := spec["replicas"]; set {
					spec = shared.own(spec) // the template's spec may be shared (shared.go)
					delete(spec, "replicas")
					o["spec"] = spec
				}
			}
		}
	}
}

func autoscalerAnnotations(r *resolve.WorkerRange) map[string]string {
	return map[string]string{
		AutoscalerMinSizeAnnotation: strconv.Itoa(int(r.Min)),
		AutoscalerMaxSizeAnnotation: strconv.Itoa(int(r.Max)),
	}
}
