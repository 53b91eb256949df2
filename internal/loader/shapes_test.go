package loader

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func loadText(t *testing.T, opts Options, files map[string]string) (*Set, error) {
	t.Helper()
	m := map[string][]byte{}
	for k, v := range files {
		m[k] = []byte(v)
	}
	return Load(m, opts)
}

// A member's spec is read the same whether it sits under the member or, as the seed wrote it,
// under the member's metadata; clusterCatalog may be spelt in any case.
func TestMemberSpecUnderMemberOrUnderMetadataLoadsTheSame(t *testing.T) {
	underMetadata := lcHead + "metadata: {name: m}\nspec:\n  clusters:\n    - cluster:\n        name: a\n        metadata:\n          labels: {zone: z}\n          spec:\n            clustercatalog: small\n"
	underMember := lcHead + "metadata: {name: m}\nspec:\n  clusters:\n    - cluster:\n        name: a\n        metadata:\n          labels: {zone: z}\n        spec:\n          ClusterCatalog: small\n"
	canonical := lcHead + "metadata: {name: m}\nspec:\n  clusters:\n    - name: a\n      labels: {zone: z}\n      clusterCatalog: small\n"
	var specs []any
	for _, text := range []string{underMetadata, underMember, canonical} {
		set, err := loadText(t, Options{}, map[string]string{"lc.yaml": text})
		require.NoError(t, err)
		require.Len(t, set.LogicalClusters, 1)
		specs = append(specs, plain(t, set.LogicalClusters[0].Object)["spec"])
	}
	assert.Equal(t, specs[2], specs[0])
	assert.Equal(t, specs[2], specs[1])
}

// Two revisions of one profile are two objects, named after name, type and revision.
func TestRevisionsOfOneProfileCoexist(t *testing.T) {
	set, err := loadText(t, Options{}, map[string]string{"p.yaml": profileHead +
		"metadata: {name: calico, type: Network, revision: 1.0.0}\nspec: {cni: calico}\n---\n" + profileHead +
		"metadata: {name: calico, type: Network, revision: 1.1.0}\nspec: {cni: calico}\n"})
	require.NoError(t, err)
	require.Len(t, set.Profiles, 2)
	assert.Equal(t, "calico-network-1.0.0", set.Profiles[0].Object.Name)
	assert.Equal(t, "calico-network-1.1.0", set.Profiles[1].Object.Name)
}

// A fleet repository also holds Flux, kustomize and CAPI files; the loader ignores them.
func TestOtherKindsAreIgnored(t *testing.T) {
	set, err := loadText(t, Options{}, map[string]string{
		"kustomization.yaml": "resources:\n  - cluster.yaml\n",
		"flux.yaml":          "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {name: x}\nspec: {url: https://example.com}\n",
		"capi.yml":           "apiVersion: cluster.x-k8s.io/v1beta2\nkind: Cluster\nmetadata: {name: Upper_Case}\nspec: {whatever: 1}\n---\n# only a comment\n---\n- a list\n",
		"README.md":          "not yaml: [",
		"cluster.yaml":       clusterHead + "metadata: {name: x}\n" + clusterSpec,
	})
	require.NoError(t, err)
	assert.Len(t, set.Clusters, 1)
}

// Namespaces: none written means the default (or the Fleet's); under a Fleet the Fleet's own
// namespace may be written out.
func TestNamespaces(t *testing.T) {
	doc := func(ns string) string {
		meta := "metadata: {name: x}\n"
		if ns != "" {
			meta = "metadata: {name: x, namespace: " + ns + "}\n"
		}
		return clusterHead + meta + clusterSpec
	}
	cases := []struct {
		name, written string
		opts          Options
		want          string
	}{
		{"default when none is written", "", Options{}, "default"},
		{"the CLI's --namespace", "", Options{DefaultNamespace: "dev"}, "dev"},
		{"as written outside a Fleet", "other", Options{DefaultNamespace: "dev"}, "other"},
		{"the Fleet's when none is written", "", Options{FleetNamespace: "starlab"}, "starlab"},
		{"the Fleet's own, written out", "starlab", Options{FleetNamespace: "starlab"}, "starlab"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			set, err := loadText(t, tc.opts, map[string]string{"c.yaml": doc(tc.written)})
			require.NoError(t, err)
			assert.Equal(t, tc.want, set.Clusters[0].Object.Namespace)
		})
	}
}

// Output order does not depend on file names or document order.
func TestSetIsSortedByNamespaceAndName(t *testing.T) {
	doc := func(ns, name string) string {
		return clusterHead + "metadata: {name: " + name + ", namespace: " + ns + "}\n" + clusterSpec
	}
	set, err := loadText(t, Options{}, map[string]string{
		"z.yaml": doc("b", "a") + "---\n" + doc("a", "z"),
		"a.yaml": doc("a", "b"),
	})
	require.NoError(t, err)
	var got []string
	for _, d := range set.Clusters {
		got = append(got, d.Object.Namespace+"/"+d.Object.Name)
	}
	assert.Equal(t, []string{"a/b", "a/z", "b/a"}, got)
}

// Anchors, aliases and merge keys are YAML, so they work; a self-referencing alias is refused.
func TestAnchorsAndMergeKeys(t *testing.T) {
	set, err := loadText(t, Options{}, map[string]string{"c.yaml": clusterHead +
		"metadata: {name: x}\nspec:\n  clusterCatalog: c\n  override: &o {workerMachineCount: 3}\n  infrastructure:\n    provider: openstack\n    profile: {name: p, type: Infrastructure, revision: 1.0.0}\n    override:\n      <<: *o\n      kubernetesVersion: v1.30.1\n"})
	require.NoError(t, err)
	assert.JSONEq(t, `{"workerMachineCount":3,"kubernetesVersion":"v1.30.1"}`, string(set.Clusters[0].Object.Spec.Infrastructure.Override.Raw))
}

// LoadDir skips hidden directories and files that are not YAML, reads .yml, and reports
// paths relative to the root, slash-separated.
func TestLoadDirWalksTheTree(t *testing.T) {
	root := t.TempDir()
	write := func(rel, text string) {
		p := filepath.Join(root, filepath.FromSlash(rel))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
	}
	write(".git/config.yaml", "this: [is not: yaml")
	write(".hidden/x.yaml", "this: [is not: yaml")
	write("notes.txt", "this: [is not: yaml")
	write("tenants/starlab/clusters.yml", clusterHead+"metadata: {name: x}\n"+clusterSpec)
	write("tenants/starlab/bad.yaml", clusterHead+"metadata: {name: y}\nspec: {clusterCatalog: c, wave: 1}\n")

	_, err := LoadDir(root, Options{})
	assert.Equal(t, []string{
		`tenants/starlab/bad.yaml:4:27: Cluster/y: spec.wave: unknown field "wave"; accepted: clusterCatalog, existing, infrastructure, network, override, software, tenant`,
	}, errorLines(t, err))

	require.NoError(t, os.Remove(filepath.Join(root, "tenants/starlab/bad.yaml")))
	set, err := LoadDir(root, Options{})
	require.NoError(t, err)
	assert.Len(t, set.Clusters, 1)
	assert.Equal(t, "tenants/starlab/clusters.yml", set.Clusters[0].Origin.Pos.File)
}

// A symbolic link may not read a file outside the tree.
func TestLoadDirRefusesLinksOutOfTheTree(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "secret.yaml")
	require.NoError(t, os.WriteFile(outside, []byte("a: b\n"), 0o644))
	root := t.TempDir()
	require.NoError(t, os.Symlink(outside, filepath.Join(root, "link.yaml")))
	_, err := LoadDir(root, Options{})
	lines := errorLines(t, err)
	require.Len(t, lines, 1)
	assert.Contains(t, lines[0], "link.yaml: cannot read:")
}
