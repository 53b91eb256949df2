package render

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/dcn-ssu/lkaas/internal/resolve"
)

// workerKubernetesVersion sets the workers apart: the MachineDeployment takes it, the control
// plane keeps kubernetesVersion.
func TestWorkerVersionGoesToTheMachineDeploymentOnly(t *testing.T) {
	opts := Options{Root: repoRoot(t), Variables: openstackFleetVariables()}
	plan := seedClusterSamplePlan()
	plan.WorkerKubernetesVersion = "v1.24.8"
	res, err := Render(plan, opts)
	require.NoError(t, err)
	assert.Equal(t, plan.KubernetesVersion, nested(t, find(t, res, "KubeadmControlPlane", ""), "spec", "version"))
	assert.Equal(t, "v1.24.8", nested(t, find(t, res, "MachineDeployment", ""), "spec", "template", "spec", "version"))
	assert.Equal(t, []string{"v1.24.8"}, WorkerVersions(res.Objects))

	plan.WorkerKubernetesVersion = ""
	res, err = Render(plan, opts)
	require.NoError(t, err)
	assert.Equal(t, []string{plan.KubernetesVersion}, WorkerVersions(res.Objects))
}

func TestTopologyRefusesASeparateWorkerVersion(t *testing.T) {
	plan := topologyPlan()
	plan.WorkerKubernetesVersion = "v1.0.0"
	_, err := Render(plan, Options{Root: repoRoot(t)})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "workerKubernetesVersion is for template-mode clusters")
}

// A range puts the autoscaler's annotations on the MachineDeployment and leaves its replicas
// unset, so the count belongs to the autoscaler; a fixed count sets replicas and no range.
func TestWorkerRangeHandsTheMachineDeploymentToTheAutoscaler(t *testing.T) {
	opts := Options{Root: repoRoot(t)}
	plan := inMemoryPlan(1)
	plan.WorkerAutoscaling = &resolve.WorkerRange{Min: 1, Max: 5}
	plan.WorkerReplicas = 1
	res, err := Render(plan, opts)
	require.NoError(t, err)
	md := find(t, res, "MachineDeployment", "")
	assert.Equal(t, "1", md.GetAnnotations()[AutoscalerMinSizeAnnotation])
	assert.Equal(t, "5", md.GetAnnotations()[AutoscalerMaxSizeAnnotation])
	_, has, _ := unstructured.NestedFieldNoCopy(md.Object, "spec", "replicas")
	assert.False(t, has, "replicas is the autoscaler's")
	kcp := find(t, res, "KubeadmControlPlane", "")
	assert.Equal(t, int64(3), nested(t, kcp, "spec", "replicas"), "the control plane keeps its count")

	res, err = Render(inMemoryPlan(1), opts)
	require.NoError(t, err)
	md = find(t, res, "MachineDeployment", "")
	assert.Equal(t, int64(2), nested(t, md, "spec", "replicas"))
	assert.NotContains(t, md.GetAnnotations(), AutoscalerMinSizeAnnotation)
}

// In topology mode the range goes on the topology's machineDeployments entry, without
// replicas, as CAPI's managed topology expects for an autoscaled pool.
func TestTopologyWorkerRange(t *testing.T) {
	plan := topologyPlan()
	plan.WorkerAutoscaling = &resolve.WorkerRange{Min: 2, Max: 8}
	res, err := Render(plan, Options{})
	require.NoError(t, err)
	assert.Equal(t, []any{map[string]any{
		"class": "default-worker", "name": "md-0",
		"metadata": map[string]any{"annotations": map[string]any{
			AutoscalerMinSizeAnnotation: "2",
			AutoscalerMaxSizeAnnotation: "8",
		}},
	}}, nested(t, res.Objects[0], "spec", "topology", "workers", "machineDeployments"))
}
