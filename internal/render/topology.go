package render

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/dcn-ssu/lkaas/internal/resolve"
)

// Infrastructure value keys read in topology mode (docs/profiles.md).
const (
	// valTopologyVariables is a map of ClusterClass variable name -> value; it becomes
	// spec.topology.variables, sorted by name.
	valTopologyVariables = "topologyVariables"
	// valWorkerClass names the ClusterClass worker class of the one MachineDeployment.
	valWorkerClass = "workerClass"
	// valServiceDomain sets spec.clusterNetwork.serviceDomain.
	valServiceDomain = "serviceDomain"

	defaultWorkerClass    = "default-worker"
	defaultWorkerMDName   = "md-0"
	clusterAPIVersionV1b2 = clusterGroup + "/v1beta2"
)

// topologyCluster renders a plan whose profile names a ClusterClass: one CAPI Cluster with
// spec.topology, whose managed topology controller then creates everything else.
func topologyCluster(plan *resolve.Plan) (map[string]any, error) {
	cc := plan.Infrastructure.ClusterClass
	if plan.KubernetesVersion == "" {
		return nil, errors.New("a ClusterClass cluster needs kubernetesVersion")
	}
	values := plan.Infrastructure.Values

	classRef := map[string]any{"name": cc.Name}
	if cc.Namespace != "" {
		classRef["namespace"] = cc.Namespace
	} else {
		classRef["namespace"] = plan.Namespace
	}

	workerClass := defaultWorkerClass
	if s, ok := values[valWorkerClass].(string); ok && s != "" {
		workerClass = s
	}
	md := map[string]any{
		"class": workerClass,
		"name":  defaultWorkerMDName,
	}
	if r := plan.WorkerAutoscaling; r != nil {
		// Without replicas the topology controller leaves the MachineDeployment's count to
		// the autoscaler, which reads the range from these annotations.
		annotations := map[string]any{}
		for k, v := range autoscalerAnnotations(r) {
			annotations[k] = v
		}
		md["metadata"] = map[string]any{"annotations": annotations}
	} else {
		md["replicas"] = int64(plan.WorkerReplicas)
	}
	topology := map[string]any{
		"classRef":     classRef,
		"version":      plan.KubernetesVersion,
		"controlPlane": map[string]any{"replicas": int64(plan.ControlPlaneReplicas)},
		"workers":      map[string]any{"machineDeployments": []any{md}},
	}

	if raw, ok := values[valTopologyVariables]; ok && raw != nil {
		vm, ok := raw.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s must be a map of ClusterClass variable names to values", valTopologyVariables)
		}
		vars := make([]any, 0, len(vm))
		for _, name := range sortedKeys(vm) {
			v, err := jsonValue(vm[name])
			if err != nil {
				return nil, fmt.Errorf("%s.%s: %w", valTopologyVariables, name, err)
			}
			vars = append(vars, map[string]any{"name": name, "value": v})
		}
		if len(vars) > 0 {
			topology["variables"] = vars
		}
	}

	spec := map[string]any{"topology": topology}
	network := map[string]any{}
	pods, services := clusterCIDRs(plan)
	if len(pods) > 0 {
		network["pods"] = map[string]any{"cidrBlocks": anyList(pods)}
	}
	if len(services) > 0 {
		network["services"] = map[string]any{"cidrBlocks": anyList(services)}
	}
	if s, ok := values[valServiceDomain].(string); ok && s != "" {
		network["serviceDomain"] = s
	}
	if len(network) > 0 {
		spec["clusterNetwork"] = network
	}
	return map[string]any{
		"apiVersion": clusterAPIVersionV1b2,
		"kind":       "Cluster",
		"metadata":   map[string]any{"name": plan.Name},
		"spec":       spec,
	}, nil
}

// jsonValue converts a resolved value to the JSON types unstructured holds.
func jsonValue(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return decodeJSONValue(b)
}

func anyList(l []string) []any {
	out := make([]any, len(l))
	for i, s := range l {
		out[i] = s
	}
	return out
}
