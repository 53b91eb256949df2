package resolve

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
	"github.com/dcn-ssu/lkaas/internal/loader"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// The plans of the seed in canonical form, and the problems the seed has as written (its
// logical cluster and catalogs name catalogs and profiles the deck never shows).
func TestSeedPlansGolden(t *testing.T) {
	s := readCanonical(t, "../../api/testdata/canonical")
	plans, err := Resolve(s, Options{})

	// Origin is the loader's type and grows with it; its position is all a plan adds to it.
	type goldenPlan struct {
		*Plan
		Origin string
	}
	got := struct {
		Plans  []goldenPlan
		Errors []string
	}{}
	for _, p := range plans {
		got.Plans = append(got.Plans, goldenPlan{Plan: p, Origin: p.Origin.Pos.String()})
	}
	if err != nil {
		got.Errors = strings.Split(err.Error(), "\n")
	}
	out, jerr := json.MarshalIndent(got, "", "  ")
	require.NoError(t, jerr)
	out = append(out, '\n')

	golden := filepath.Join("testdata", "golden", "seed-plans.json")
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(golden), 0o755))
		require.NoError(t, os.WriteFile(golden, out, 0o644))
	}
	want, rerr := os.ReadFile(golden)
	require.NoError(t, rerr, "run go test ./internal/resolve -run TestSeedPlansGolden -update")
	require.Equal(t, string(want), string(out))
}

// readCanonical is a stand-in for the loader, enough for files already in canonical form:
// each document is decoded by kind and placed at its first line.
func readCanonical(t *testing.T, dir string) *loader.Set {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	require.NoError(t, err)
	s := &loader.Set{}
	for _, file := range files {
		data, err := os.ReadFile(file)
		require.NoError(t, err)
		line := 1
		for _, doc := range bytes.Split(data, []byte("\n---\n")) {
			origin := loader.Origin{Pos: loader.Position{File: "api/testdata/canonical/" + filepath.Base(file), Line: line, Column: 1}}
			line += bytes.Count(doc, []byte("\n")) + 2
			var meta struct{ Kind string }
			require.NoError(t, yaml.Unmarshal(doc, &meta))
			switch meta.Kind {
			case automationv1alpha1.InfrastructureProfileKind:
				s.Profiles = append(s.Profiles, decodeDoc[automationv1alpha1.InfrastructureProfile](t, doc, origin))
			case automationv1alpha1.ClusterCatalogKind:
				s.Catalogs = append(s.Catalogs, decodeDoc[automationv1alpha1.ClusterCatalog](t, doc, origin))
			case automationv1alpha1.ClusterKind:
				s.Clusters = append(s.Clusters, decodeDoc[automationv1alpha1.Cluster](t, doc, origin))
			case intentv1.LogicalClusterKind:
				s.LogicalClusters = append(s.LogicalClusters, decodeDoc[intentv1.LogicalCluster](t, doc, origin))
			}
		}
	}
	return s
}

func decodeDoc[T any, PT interface {
	*T
	client.Object
}](t *testing.T, doc []byte, origin loader.Origin) loader.Doc[PT] {
	t.Helper()
	obj := PT(new(T))
	require.NoError(t, yaml.UnmarshalStrict(doc, obj))
	return loader.Doc[PT]{Object: obj, Origin: origin}
}
