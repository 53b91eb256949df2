package resolve

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
)

// Along a chain the child wins, maps merge at every depth, lists are replaced, null unsets.
func TestParentChainMergesValues(t *testing.T) {
	s := set(
		profile("default", "grand", infraType, "1.0.0", templatePath("grand.yaml"),
			values(vals(t, `{kubernetesVersion: v1.28.0, gone: x, list: [1, 2], nested: {x: 1, w: 1, deep: {k: grand}}}`))),
		profile("default", "parent", infraType, "1.0.0", parent(ref("grand", infraType, "1.0.0")), clusterClass("quick-start"),
			values(vals(t, `{list: [3], nested: {w: 2, deep: {j: parent}}}`))),
		profile("default", "child", infraType, "1.0.0", parent(ref("parent", infraType, "1.0.0")),
			values(vals(t, `{gone: null, nested: {z: 3}}`))),
		cluster("starlab", "c1", withRecipe(infra("docker", ref("child", infraType, "1.0.0")))),
	)
	plans := mustResolve(t, s, Options{})
	require.Len(t, plans, 1)
	got := plans[0].Infrastructure

	assert.Equal(t, map[string]any{
		"kubernetesVersion": "v1.28.0",
		"list":              []any{json.Number("3")},
		"nested": map[string]any{
			"x": json.Number("1"), "w": json.Number("2"), "z": json.Number("3"),
			"deep": map[string]any{"k": "grand", "j": "parent"},
		},
	}, got.Values)
	assert.Len(t, got.Chain, 3)
	// The nearest profile naming a template or a ClusterClass decides: the parent's class,
	// and not the grandparent's template beside it.
	assert.Equal(t, &automationv1alpha1.ClusterClassReference{Name: "quick-start"}, got.ClusterClass)
	assert.Nil(t, got.Template)
}

// profiles < catalog override < cluster override; inline parts replace the catalog's whole.
func TestOverridePrecedence(t *testing.T) {
	base := []any{
		profile("default", "small", infraType, "1.0.0", templatePath("t.yaml"),
			values(vals(t, `{kubernetesVersion: v1.25.0, controlPlaneMachineCount: 1, workerMachineCount: 3, controlplaneFlavor: m1.medium, workerFlavor: m1.large, podCIDR: 10.0.0.0/16}`))),
		profile("default", "calico", networkType, "1.0.0", values(vals(t, `{cni: calico, podCIDR: [10.96.0.0/12]}`))),
		profile("default", "cilium", networkType, "1.0.0", values(vals(t, `{cni: cilium}`))),
		profile("default", "prometheus", softType, "1.0.0", values(vals(t, `{version: 2.41.0}`))),
		catalog("starlab", "medium",
			infra("openstack", ref("small", infraType, "1.0.0"), vals(t, `{kubernetesVersion: v1.26.0, workerMachineCount: 5}`)),
			network("calico", ref("calico", networkType, "1.0.0"), vals(t, `{serviceCIDR: 10.128.0.0/12}`)),
			software("prometheus", ref("prometheus", softType, "1.0.0"))),
	}

	t.Run("catalog override wins over profiles", func(t *testing.T) {
		p := resolveOne(t, append(base, cluster("starlab", "c1", fromCatalog("medium")))...)
		assert.Equal(t, "v1.26.0", p.KubernetesVersion)
		assert.Equal(t, int32(5), p.WorkerReplicas)
		assert.Equal(t, []string{"10.96.0.0/12"}, p.PodCIDRs, "the network add-on's podCIDR wins over the infrastructure's")
		assert.Equal(t, []string{"10.128.0.0/12"}, p.ServiceCIDRs, "the add-on's override counts as the add-on's")
		assert.Equal(t, "medium", p.ClusterCatalog)
		require.Len(t, p.Software, 1)
	})
	t.Run("cluster override wins over the catalog's", func(t *testing.T) {
		p := resolveOne(t, append(base, cluster("starlab", "c1", fromCatalog("medium"),
			override(vals(t, `{kubernetesVersion: v1.27.3, controlPlaneFlavor: m1.xlarge}`))))...)
		assert.Equal(t, "v1.27.3", p.KubernetesVersion)
		assert.Equal(t, int32(5), p.WorkerReplicas, "the catalog's override still applies where the cluster is silent")
		assert.Equal(t, "m1.xlarge", p.ControlPlaneFlavor, "controlPlaneFlavor in a higher layer wins over controlplaneFlavor")
		assert.Equal(t, "v1.27.3", p.Infrastructure.Values["kubernetesVersion"])
	})
	t.Run("inline infrastructure replaces the catalog's with its override", func(t *testing.T) {
		p := resolveOne(t, append(base, cluster("starlab", "c1", fromCatalog("medium"),
			withRecipe(infra("docker", ref("small", infraType, "1.0.0")))))...)
		assert.Equal(t, "docker", p.Provider)
		assert.Equal(t, "v1.25.0", p.KubernetesVersion)
		assert.Equal(t, int32(3), p.WorkerReplicas)
		assert.Equal(t, "calico", p.Network.Name, "the catalog's network stays")
	})
	t.Run("inline network replaces the catalog's", func(t *testing.T) {
		p := resolveOne(t, append(base, cluster("starlab", "c1", fromCatalog("medium"),
			withRecipe(network("cilium", ref("cilium", networkType, "1.0.0")))))...)
		assert.Equal(t, "cilium", p.Network.Profile.Values["cni"])
		assert.Equal(t, []string{"10.0.0.0/16"}, p.PodCIDRs, "without a network podCIDR the infrastructure's applies")
		assert.Nil(t, p.ServiceCIDRs)
	})
	t.Run("inline empty software list replaces the catalog's", func(t *testing.T) {
		c := cluster("starlab", "c1", fromCatalog("medium"))
		c.Object.Spec.Software = []automationv1alpha1.AddonRecipe{}
		p := resolveOne(t, append(base, c)...)
		assert.Empty(t, p.Software)
	})
	t.Run("member override wins over the catalog's", func(t *testing.T) {
		m := member("edge-1", "medium")
		m.Override = vals(t, `{workerMachineCount: 0}`)
		m.Labels = map[string]string{automationv1alpha1.LocationLabel: "kr-busan"}
		p := resolveOne(t, append(base, logicalCluster("starlab", "mec", "starlab", m))...)
		assert.Equal(t, "v1.26.0", p.KubernetesVersion)
		assert.Equal(t, int32(0), p.WorkerReplicas)
		assert.Equal(t, "mec", p.LogicalCluster)
		assert.Equal(t, "starlab", p.Tenant)
		assert.Equal(t, "spec.clusters[0]", p.OriginField)
		assert.Equal(t, map[string]string{automationv1alpha1.LocationLabel: "kr-busan", LogicalClusterLabel: "mec"}, p.Labels)
	})
	t.Run("network override wins over the network profile", func(t *testing.T) {
		c := cluster("starlab", "c1", fromCatalog("medium"),
			withRecipe(network("calico", ref("calico", networkType, "1.0.0"), vals(t, `{podCIDR: 172.16.0.0/16}`))))
		p := resolveOne(t, append(base, c)...)
		assert.Equal(t, []string{"172.16.0.0/16"}, p.PodCIDRs)
		assert.Nil(t, p.ServiceCIDRs, "the inline network replaced the catalog's, override and all")
	})
}

func resolveOne(t *testing.T, docs ...any) *Plan {
	t.Helper()
	plans := mustResolve(t, set(docs...), Options{})
	require.Len(t, plans, 1)
	return plans[0]
}

// Members become Clusters the LogicalCluster controller can create as they are.
func TestClusterForMember(t *testing.T) {
	lc := logicalCluster("starlab", "mec", "starlab",
		member("central", "medium"),
		intentv1.MemberCluster{
			Name:          "edge",
			Labels:        map[string]string{automationv1alpha1.LocationLabel: "kr-busan", LogicalClusterLabel: "forged"},
			ClusterRecipe: recipe(infra("openstack", ref("small", infraType, "1.0.0"))),
			Override:      vals(t, `{workerMachineCount: 2}`),
		}).Object

	got := ClusterForMember(lc, 1)
	assert.Equal(t, "automation.dcn.ssu.ac.kr/v1alpha1", got.APIVersion)
	assert.Equal(t, "Cluster", got.Kind)
	assert.Equal(t, "edge", got.Name)
	assert.Equal(t, "starlab", got.Namespace)
	assert.Equal(t, map[string]string{automationv1alpha1.LocationLabel: "kr-busan", LogicalClusterLabel: "mec"}, got.Labels)
	assert.Equal(t, "starlab", got.Spec.Tenant)
	assert.Empty(t, got.Spec.ClusterCatalog)
	assert.Equal(t, "small", got.Spec.Infrastructure.Profile.Name)
	assert.JSONEq(t, `{"workerMachineCount": 2}`, string(got.Spec.Override.Raw))

	// A deep copy: the controller may change the Cluster without touching the LogicalCluster.
	got.Spec.Infrastructure.Profile.Name = "changed"
	got.Labels["x"] = "y"
	assert.Equal(t, "small", lc.Spec.Clusters[1].ClusterRecipe.Infrastructure.Profile.Name)
	assert.NotContains(t, lc.Spec.Clusters[1].Labels, "x")

	assert.Equal(t, "medium", ClusterForMember(lc, 0).Spec.ClusterCatalog)
}
