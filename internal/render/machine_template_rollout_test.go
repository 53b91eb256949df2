package render

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A flavour change must produce a new machine template name (templates are immutable in
// CAPI) that the KubeadmControlPlane points to; the worker template, unchanged, keeps its name.
func TestFlavourChangeRenamesTheMachineTemplateAndRollsTheControlPlane(t *testing.T) {
	opts := Options{Root: repoRoot(t), Variables: openstackFleetVariables()}
	before, err := Render(seedClusterSamplePlan(), opts)
	require.NoError(t, err)

	plan := seedClusterSamplePlan()
	plan.ControlPlaneFlavor = "m1.xlarge"
	plan.Infrastructure.Values["controlplaneFlavor"] = "m1.xlarge"
	after, err := Render(plan, opts)
	require.NoError(t, err)

	cpBefore := find(t, before, "OpenStackMachineTemplate", "control-plane").GetName()
	cpAfter := find(t, after, "OpenStackMachineTemplate", "control-plane").GetName()
	assert.NotEqual(t, cpBefore, cpAfter)
	assert.Equal(t, cpAfter, nested(t, find(t, after, "KubeadmControlPlane", ""),
		"spec", "machineTemplate", "spec", "infrastructureRef", "name"))
	assert.Equal(t, find(t, before, "OpenStackMachineTemplate", "md-0").GetName(),
		find(t, after, "OpenStackMachineTemplate", "md-0").GetName())
}

// Add-on objects are shared: two clusters with the same add-on profile revision and values
// render byte-identical add-on objects; an override gives a distinct instance.
func TestClustersShareAddonObjectsPerProfileRevision(t *testing.T) {
	r := NewRenderer(Options{Root: repoRoot(t)})
	a, err := r.Render(inMemoryPlan(1))
	require.NoError(t, err)
	b, err := r.Render(inMemoryPlan(2))
	require.NoError(t, err)
	crsA, crsB := find(t, a, "ClusterResourceSet", ""), find(t, b, "ClusterResourceSet", "")
	assert.Equal(t, crsA.Object, crsB.Object)

	c := inMemoryPlan(3)
	c.Network.Profile.Values["strategy"] = "Reconcile"
	res, err := r.Render(c)
	require.NoError(t, err)
	assert.NotEqual(t, crsA.GetName(), find(t, res, "ClusterResourceSet", "").GetName())

	// Mutating one result must not leak into the next (the cache hands out copies).
	crsA.SetName("mutated")
	d, err := r.Render(inMemoryPlan(4))
	require.NoError(t, err)
	assert.Equal(t, crsB.GetName(), find(t, d, "ClusterResourceSet", "").GetName())
}

func TestSoftwareWithNothingToInstallWarns(t *testing.T) {
	plan := seedClusterSamplePlan()
	// The seed's prometheus-default as written: a version and volumes, no chart.
	plan.Software[0].Profile.Values = map[string]any{"version": "2.41.0", "volumes": []any{map[string]any{"name": "config"}}}
	res, err := Render(plan, Options{Root: repoRoot(t), Variables: openstackFleetVariables()})
	require.NoError(t, err)
	assert.Equal(t, []string{`software add-on "prometheus" (profile default/prometheus-default 1.0.0) names no chart and no manifests: nothing is installed`}, res.Warnings)
	for _, o := range res.Objects {
		assert.NotEqual(t, "HelmChartProxy", o.GetKind())
	}
	assert.NotContains(t, find(t, res, "Cluster", "cluster-sample").GetLabels(), AddonLabelPrefix+"prometheus")
}

func TestNetworkWithoutManifestsRendersOnlyTheNetwork(t *testing.T) {
	plan := inMemoryPlan(1)
	delete(plan.Network.Profile.Values, "manifests")
	plan.PodCIDRs, plan.ServiceCIDRs = nil, nil
	res, err := Render(plan, Options{Root: repoRoot(t)})
	require.NoError(t, err)
	for _, o := range res.Objects {
		assert.NotContains(t, []string{"ClusterResourceSet", "ConfigMap"}, o.GetKind())
	}
	c := find(t, res, "Cluster", "")
	assert.Equal(t, []any{"10.244.0.0/16"}, nested(t, c, "spec", "clusterNetwork", "pods", "cidrBlocks"))
	assert.Equal(t, []any{"10.96.0.0/12"}, nested(t, c, "spec", "clusterNetwork", "services", "cidrBlocks"))
}
