package resolve

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/types"

	"github.com/dcn-ssu/lkaas/internal/loader"
)

// Options.Only resolves the named clusters and reports their problems, nobody else's.
func TestResolveOnlyOneCluster(t *testing.T) {
	good := seedClusterSample(t)
	docs := append(seedProfiles(t),
		good,
		cluster("starlab", "broken", withRecipe(infra("openstack", ref("missing", infraType, "1.0.0")))),
		catalog("starlab", "unused", infra("openstack", ref("missing", infraType, "1.0.0"))),
		logicalCluster("starlab", "mec", "starlab", member("broken", "unused")),
	)
	s := set(docs...)

	plans, err := Resolve(s, Options{Only: []types.NamespacedName{{Namespace: "starlab", Name: "cluster-sample"}}})
	require.NoError(t, err, "the broken cluster, the unused catalog and the clashing member are not asked about")
	require.Len(t, plans, 1)
	assert.Equal(t, "cluster-sample", plans[0].Name)

	// A contested name is a problem of whoever asks for it.
	assert.Equal(t, []string{
		`broken.yaml:1:1: Cluster/broken: spec.infrastructure.profile: Infrastructure profile "missing" not found in namespaces starlab, default`,
		`mec.yaml:1:1: LogicalCluster/mec: spec.clusters[0].name: member "broken" collides with Cluster starlab/broken at broken.yaml:1:1; a member becomes a Cluster of its name, so rename one of them`,
	}, errorLines(t, s, Options{Only: []types.NamespacedName{{Namespace: "starlab", Name: "broken"}}}))

	assert.Equal(t, []string{
		`<input>: no Cluster or logical-cluster member named starlab/nowhere`,
	}, errorLines(t, s, Options{Only: []types.NamespacedName{{Namespace: "starlab", Name: "nowhere"}}}))

	// Without a filter every problem is reported, and the good cluster still gets its plan.
	plans, err = Resolve(s, Options{})
	require.Error(t, err)
	assert.Len(t, err.(loader.ErrorList), 3)
	require.Len(t, plans, 1)
	assert.Equal(t, "cluster-sample", plans[0].Name)
}

// Same input, same output, whatever order the documents come in.
func TestResolveIsDeterministic(t *testing.T) {
	s := generatedFleet(t)
	// A few problems too, so error order is covered.
	s.Clusters = append(s.Clusters,
		cluster("tenant", "lc3-m007", fromCatalog("nope")),
		cluster("tenant", "z-broken", withRecipe(infra("openstack", ref("infra-1", infraType, "^9")))))

	first := resolveJSON(t, s)
	assert.Equal(t, first, resolveJSON(t, s))

	reversed := &loader.Set{
		Profiles:        reversedCopy(s.Profiles),
		Catalogs:        reversedCopy(s.Catalogs),
		Clusters:        reversedCopy(s.Clusters),
		LogicalClusters: reversedCopy(s.LogicalClusters),
	}
	assert.Equal(t, first, resolveJSON(t, reversed))
}

func resolveJSON(t *testing.T, s *loader.Set) string {
	plans, err := Resolve(s, Options{})
	out, jerr := json.Marshal(struct {
		Plans []*Plan
		Err   string
	}{plans, errText(err)})
	require.NoError(t, jerr)
	return string(out)
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func reversedCopy[T any](in []T) []T {
	out := slices.Clone(in)
	slices.Reverse(out)
	return out
}

// The loader records where the seed's shapes put a field; errors name it as written.
func TestResolveErrorsNameTheFieldAsWritten(t *testing.T) {
	c := catalog("starlab", "medium", network("calico", ref("missing", networkType, "1.0.0")))
	c.Origin.Written = map[string]string{"spec.network": "spec.infrastructure.spec.network.spec"}
	assert.Equal(t, []string{
		`medium.yaml:1:1: ClusterCatalog/medium: spec.infrastructure.spec.network.spec.profile: Network profile "missing" not found in namespaces starlab, default`,
	}, errorLines(t, set(c), Options{}))
}
