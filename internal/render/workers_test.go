package render

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
