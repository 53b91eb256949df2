package loader

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An existing cluster is written in the seed's style of recipe parts (existing: {spec: …}) or
// canonically; a member takes it like a standalone Cluster.
func TestExistingClusterShapesLoadTheSame(t *testing.T) {
	seedCluster := clusterHead + "metadata:\n  name: core\n  namespace: edge\nspec:\n  existing:\n    spec:\n      kubeconfigsecret: core-kubeconfig\n      kubernetesVersion: v1.31.0\n"
	canonicalCluster := clusterHead + "metadata: {name: core, namespace: edge}\nspec:\n  existing: {kubeconfigSecret: core-kubeconfig, kubernetesVersion: v1.31.0}\n"
	var specs []any
	for _, text := range []string{seedCluster, canonicalCluster} {
		set, err := loadText(t, Options{}, map[string]string{"c.yaml": text})
		require.NoError(t, err)
		require.Len(t, set.Clusters, 1)
		specs = append(specs, plain(t, set.Clusters[0].Object)["spec"])
	}
	assert.Equal(t, specs[1], specs[0])
	assert.Equal(t, map[string]any{"existing": map[string]any{"kubeconfigSecret": "core-kubeconfig", "kubernetesVersion": "v1.31.0"}}, specs[0])

	seedMember := lcHead + "metadata: {name: m, namespace: edge}\nspec:\n  clusters:\n    - cluster:\n        name: core\n        metadata:\n          labels: {zone: z}\n        spec:\n          existing:\n            spec: {}\n    - cluster:\n        name: edge\n        spec:\n          clustercatalog: small\n"
	set, err := loadText(t, Options{}, map[string]string{"lc.yaml": seedMember})
	require.NoError(t, err)
	member := set.LogicalClusters[0].Object.Spec.Clusters[0]
	require.NotNil(t, member.Existing)
	assert.Empty(t, member.Existing.KubeconfigSecret, "empty means <name>-kubeconfig")
	assert.Nil(t, set.LogicalClusters[0].Object.Spec.Clusters[1].Existing)
}

// An existing cluster stands alone and its Secret has CAPI's name; each problem names the
// file, line and field, and nothing loads.
func TestExistingClusterProblems(t *testing.T) {
	cases := []struct {
		name string
		file string
		want []string
	}{
		{
			name: "a catalog and an override beside existing",
			file: clusterHead + "metadata: {name: core}\nspec:\n  clusterCatalog: small\n  override: {kubernetesVersion: v1.31.0}\n  existing: {}\n",
			want: []string{"c.yaml:7:3: Cluster/core: spec.existing: an existing cluster takes no clusterCatalog, override: L-KaaS builds nothing for it (only network and software add-ons may stand beside existing); remove clusterCatalog, override or existing"},
		},
		{
			name: "a Secret of another name",
			file: clusterHead + "metadata: {name: core}\nspec:\n  existing:\n    kubeconfigSecret: my-admin-config\n",
			want: []string{`c.yaml:6:5: Cluster/core: spec.existing.kubeconfigSecret: kubeconfig Secret "my-admin-config" must be named "core-kubeconfig": CAPI's add-on providers and EMCO registration read a cluster's kubeconfig under that name, and L-KaaS never copies a kubeconfig`},
		},
		{
			name: "a version without its v",
			file: clusterHead + "metadata: {name: core}\nspec:\n  existing:\n    kubernetesVersion: 1.31.0\n",
			want: []string{`c.yaml:6:5: Cluster/core: spec.existing.kubernetesVersion: invalid Kubernetes version "1.31.0": expected v<major>.<minor>.<patch>, like v1.31.0`},
		},
		{
			name: "a member with infrastructure beside existing",
			file: lcHead + "metadata: {name: m}\nspec:\n  clusters:\n    - name: core\n      existing: {kubeconfigSecret: edge-kubeconfig}\n      infrastructure: {provider: docker, profile: {name: p, type: Infrastructure, revision: 1.0.0}}\n",
			want: []string{
				"c.yaml:7:7: LogicalCluster/m: spec.clusters[0].existing: an existing cluster takes no infrastructure: L-KaaS builds nothing for it (only network and software add-ons may stand beside existing); remove infrastructure or existing",
				`c.yaml:7:18: LogicalCluster/m: spec.clusters[0].existing.kubeconfigSecret: kubeconfig Secret "edge-kubeconfig" must be named "core-kubeconfig": CAPI's add-on providers and EMCO registration read a cluster's kubeconfig under that name, and L-KaaS never copies a kubeconfig`,
			},
		},
		{
			name: "an unknown field under existing",
			file: clusterHead + "metadata: {name: core}\nspec:\n  existing:\n    kubeconfig: core-kubeconfig\n",
			want: []string{`c.yaml:6:5: Cluster/core: spec.existing.kubeconfig: unknown field "kubeconfig"; accepted: kubeconfigSecret, kubernetesVersion`},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			set, err := loadText(t, Options{}, map[string]string{"c.yaml": tc.file})
			require.Error(t, err)
			assert.Nil(t, set)
			lines := errorLines(t, err)
			require.Len(t, lines, len(tc.want), "%v", lines)
			for i, w := range tc.want {
				assert.Contains(t, lines[i], w)
			}
		})
	}
}

// Network and software add-ons may stand beside existing, for a Cluster and for a member.
func TestExistingClusterTakesAddons(t *testing.T) {
	cluster := clusterHead + "metadata: {name: core, namespace: edge}\nspec:\n  existing: {}\n  network: {name: calico, profile: {name: calico, type: Network, revision: 1.0.0}}\n  software:\n    - {name: m, profile: {name: m, type: Software, revision: 1.0.0}}\n"
	member := lcHead + "metadata: {name: lc, namespace: edge}\nspec:\n  clusters:\n    - name: core\n      existing: {}\n      network: {name: calico, profile: {name: calico, type: Network, revision: 1.0.0}}\n"
	set, err := loadText(t, Options{}, map[string]string{"c.yaml": cluster, "lc.yaml": member})
	require.NoError(t, err)
	require.Len(t, set.Clusters, 1)
	assert.NotNil(t, set.Clusters[0].Object.Spec.Network)
	assert.Len(t, set.Clusters[0].Object.Spec.Software, 1)
	assert.NotNil(t, set.LogicalClusters[0].Object.Spec.Clusters[0].Network)
}
