package resolve

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
)

func TestSeedClusterSampleResolves(t *testing.T) {
	s := set(append(seedProfiles(t), seedClusterSample(t))...)
	plans := mustResolve(t, s, Options{})
	require.Len(t, plans, 1)
	p := plans[0]

	assert.Equal(t, "starlab", p.Namespace)
	assert.Equal(t, "cluster-sample", p.Name)
	assert.Equal(t, "starlab", p.Tenant)
	assert.Equal(t, "openstack", p.Provider)
	assert.Equal(t, map[string]string{
		automationv1alpha1.RegionLabel: "kr-seoul",
		automationv1alpha1.ZoneLabel:   "public",
	}, p.Labels)

	assert.Equal(t, "v1.25.0", p.KubernetesVersion, "the cluster's override wins over the profile's v1.24.8")
	assert.Equal(t, int32(1), p.ControlPlaneReplicas)
	assert.Equal(t, int32(3), p.WorkerReplicas)
	assert.Equal(t, "m1.medium", p.ControlPlaneFlavor)
	assert.Equal(t, "m1.large", p.WorkerFlavor)
	assert.Equal(t, []string{"10.96.0.0/12"}, p.PodCIDRs)
	assert.Equal(t, []string{"192.168.0.0/16"}, p.ServiceCIDRs)

	// The profiles live in the shared namespace "default", used from tenant namespace starlab.
	assert.Equal(t, []ProfileKey{
		{Namespace: "default", Name: "openstack-small-cluster", Type: infraType, Revision: "1.0.0"},
		{Namespace: "default", Name: "clusterapi-resource-template-default", Type: infraType, Revision: "1.0.0"},
	}, p.Infrastructure.Chain)
	assert.Equal(t, &automationv1alpha1.TemplateSource{
		URL:      "https://github.com/kubernetes-sigs/cluster-api-provider-openstack/releases",
		Version:  "v0.7.0",
		Filename: "cluster-template.yaml",
	}, p.Infrastructure.Template, "the template comes from the parent")
	assert.Nil(t, p.Infrastructure.ClusterClass)
	assert.Equal(t, "v1.25.0", p.Infrastructure.Values["kubernetesVersion"])
	assert.Equal(t, json.Number("3"), p.Infrastructure.Values["workerMachineCount"])

	require.NotNil(t, p.Network)
	assert.Equal(t, "calico-v1", p.Network.Name)
	assert.Equal(t, ProfileKey{Namespace: "default", Name: "calico-v1", Type: networkType, Revision: "1.0.0"}, p.Network.Profile.Key)
	assert.Equal(t, "calico", p.Network.Profile.Values["cni"])

	require.Len(t, p.Software, 1)
	assert.Equal(t, "prometheus", p.Software[0].Name)
	assert.Equal(t, ProfileKey{Namespace: "default", Name: "prometheus-default", Type: softType, Revision: "1.0.0"}, p.Software[0].Profile.Key)
	assert.Equal(t, "2.41.0", p.Software[0].Profile.Values["version"])

	assert.Equal(t, "cluster-sample.yaml:1:1", p.Origin.Pos.String())
	assert.Empty(t, p.OriginField)
}

// A plan's values belong to it: changing them must not leak into another plan or a later
// resolution through the shared, memoized profile chains.
func TestPlanValuesAreNotShared(t *testing.T) {
	second := seedClusterSample(t)
	second.Object.Name = "cluster-two"
	s := set(append(seedProfiles(t), seedClusterSample(t), second)...)
	plans := mustResolve(t, s, Options{})
	require.Len(t, plans, 2)

	plans[0].Software[0].Profile.Values["volumes"].([]any)[0].(map[string]any)["name"] = "changed"
	plans[0].Infrastructure.Values["workerFlavor"] = "changed"
	assert.Equal(t, "config", plans[1].Software[0].Profile.Values["volumes"].([]any)[0].(map[string]any)["name"])
	assert.Equal(t, "m1.large", plans[1].Infrastructure.Values["workerFlavor"])
}
