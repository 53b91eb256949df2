package loader

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// seedWithValidNames is the seed tree with the catalogs renamed as the loader's own error
// messages suggest; everything else is as the seed wrote it.
func seedWithValidNames(t testing.TB) map[string][]byte {
	files := readTree(t, "testdata/seed")
	catalogs := string(files["catalogs.yaml"])
	catalogs = strings.Replace(catalogs, "name: Core5GCluster", "name: core5g-cluster", 1)
	catalogs = strings.Replace(catalogs, "name: MECClusterIn5G", "name: mec-cluster-in5g", 1)
	files["catalogs.yaml"] = []byte(catalogs)
	return files
}

// The seed as written only fails on its two catalog names, which are not object names; the
// loader says so and proposes a name, but does not rename (references would break).
func TestSeedAsWrittenFailsOnlyOnItsUpperCaseCatalogNames(t *testing.T) {
	set, err := LoadDir("testdata/seed", Options{})
	assert.Nil(t, set)
	assert.Equal(t, []string{
		`catalogs.yaml:6:3: ClusterCatalog/Core5GCluster: metadata.name: invalid name "Core5GCluster": object names are lower-case DNS-1123 subdomains: a-z, 0-9, '-' and '.', starting and ending with a letter or digit, at most 253 characters; use "core5g-cluster" and change every reference to it`,
		`catalogs.yaml:35:3: ClusterCatalog/MECClusterIn5G: metadata.name: invalid name "MECClusterIn5G": object names are lower-case DNS-1123 subdomains: a-z, 0-9, '-' and '.', starting and ending with a letter or digit, at most 253 characters; use "mec-cluster-in5g" and change every reference to it`,
	}, errorLines(t, err))
}

// The seed's shapes load into canonical objects (golden), and every canonical field points
// back to the line the seed wrote it on (golden).
func TestSeedLoadsIntoCanonicalObjects(t *testing.T) {
	set, err := Load(seedWithValidNames(t), Options{})
	require.NoError(t, err)
	golden(t, "seed.yaml", setYAML(t, set))
	golden(t, "seed-origins.txt", originText(set))
}

// The loaded seed agrees with the canonical examples the API server is tested with
// (api/testdata/canonical), except where the seed is wrong or silent: the catalog names, the
// LogicalCluster's namespace (the seed gives none; a Fleet's namespace is used), and the
// rollout settings (waves, rollout, logicalCloud) the canonical example adds.
func TestSeedAgreesWithTheAPICanonicalExamples(t *testing.T) {
	seed, err := Load(seedWithValidNames(t), Options{})
	require.NoError(t, err)
	canonical, err := LoadDir("../../api/testdata/canonical", Options{})
	require.NoError(t, err)

	byKey := func(set *Set) map[string]map[string]any {
		out := map[string]map[string]any{}
		for _, obj := range set.Objects() {
			out[obj.GetObjectKind().GroupVersionKind().Kind+"/"+obj.GetName()] = plain(t, obj)
		}
		return out
	}
	got, want := byKey(seed), byKey(canonical)
	delete(want, "Fleet/starlab") // the seed has no Fleet

	// The seed's catalog names are fixed to the loader's suggestions, which the canonical
	// files use too.
	lc := got["LogicalCluster/mec-cluster"]
	require.NotNil(t, lc)
	assert.Equal(t, "default", lc["metadata"].(map[string]any)["namespace"])
	lc["metadata"].(map[string]any)["namespace"] = "starlab"
	wantLC := want["LogicalCluster/mec-cluster"]["spec"].(map[string]any)
	delete(wantLC, "rollout")
	delete(wantLC, "logicalCloud")
	for _, m := range wantLC["clusters"].([]any) {
		delete(m.(map[string]any), "wave")
	}

	assert.Equal(t, want, got)
}

// The canonical form loads unchanged: what the loader returns is what the file says.
func TestCanonicalExamplesLoadUnchanged(t *testing.T) {
	files := readTree(t, "../../api/testdata/canonical")
	set, err := Load(files, Options{})
	require.NoError(t, err)

	var written []map[string]any
	for _, name := range sortedKeys(files) {
		for _, doc := range strings.Split(string(files[name]), "\n---\n") {
			obj := yamlToPlain(t, doc)
			if spec, ok := obj["spec"].(map[string]any); ok && spec["interval"] != nil {
				// metav1.Duration writes durations back in Go's form: 5m is 5m0s.
				d, err := time.ParseDuration(spec["interval"].(string))
				require.NoError(t, err)
				spec["interval"] = d.String()
			}
			written = append(written, obj)
		}
	}
	var loaded []map[string]any
	for _, obj := range set.Objects() {
		loaded = append(loaded, plain(t, obj))
	}
	assert.ElementsMatch(t, written, loaded)
}
