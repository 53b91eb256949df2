package loader

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// readTree reads a directory of test files into the map Load takes.
func readTree(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		require.NoError(t, err)
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		require.NoError(t, err)
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		files[filepath.ToSlash(rel)] = data
		return nil
	}))
	return files
}

// errorLines splits a Load error into its lines; nil for no error.
func errorLines(t testing.TB, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	list, ok := err.(ErrorList)
	require.True(t, ok, "Load returns an ErrorList, got %T: %v", err, err)
	lines := make([]string, len(list))
	for i, e := range list {
		lines[i] = e.Error()
	}
	return lines
}

// plain is an object as the API server would store it from the loader's output: no status and
// no creationTimestamp, which the typed structs always carry.
func plain(t testing.TB, obj client.Object) map[string]any {
	t.Helper()
	data, err := json.Marshal(obj)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(data, &m))
	delete(m, "status")
	if meta, ok := m["metadata"].(map[string]any); ok {
		delete(meta, "creationTimestamp")
	}
	return m
}

// setOrigins lists every document's origin alongside its object, in Set order.
func setOrigins(set *Set) []Origin {
	var origins []Origin
	for _, d := range set.Profiles {
		origins = append(origins, d.Origin)
	}
	for _, d := range set.Catalogs {
		origins = append(origins, d.Origin)
	}
	for _, d := range set.Clusters {
		origins = append(origins, d.Origin)
	}
	for _, d := range set.LogicalClusters {
		origins = append(origins, d.Origin)
	}
	for _, d := range set.Fleets {
		origins = append(origins, d.Origin)
	}
	return origins
}

// setYAML renders a set as multi-document YAML, for golden files.
func setYAML(t testing.TB, set *Set) string {
	t.Helper()
	var docs []string
	for _, obj := range set.Objects() {
		data, err := yaml.Marshal(plain(t, obj))
		require.NoError(t, err)
		docs = append(docs, string(data))
	}
	return strings.Join(docs, "---\n")
}

// originText lists where every canonical field of a set was written, for golden files:
// "Kind namespace/name  canonical.path  file:line:col  (written.path)".
func originText(set *Set) string {
	var b strings.Builder
	objs, origins := set.Objects(), setOrigins(set)
	for i, obj := range objs {
		o := origins[i]
		fmt.Fprintf(&b, "%s %s/%s  %s\n", obj.GetObjectKind().GroupVersionKind().Kind, obj.GetNamespace(), obj.GetName(), o.Pos)
		paths := make([]string, 0, len(o.Fields))
		for p := range o.Fields {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		for _, p := range paths {
			fmt.Fprintf(&b, "  %-60s %-28s %s\n", p, o.Fields[p], o.Written[p])
		}
	}
	return b.String()
}

// golden compares got with testdata/golden/name, or rewrites it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./internal/loader -update to create it")
	require.Equal(t, string(want), got, "differs from %s; run go test ./internal/loader -update if the change is intended", path)
}

// yamlToPlain decodes one YAML document the way the API server's clients do.
func yamlToPlain(t testing.TB, doc string) map[string]any {
	t.Helper()
	data, err := yaml.YAMLToJSON([]byte(doc))
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(data, &m))
	return m
}
