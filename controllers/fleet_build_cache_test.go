package controllers

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/types"

	"github.com/dcn-ssu/lkaas/internal/loader"
)

// A Fleet's next revision parses only the files that changed, and loads to what a fresh
// load of the same tree gives.
func TestBuildCacheParsesOnlyChangedFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
	}
	cluster := func(name, catalog string) string {
		return "apiVersion: automation.dcn.ssu.ac.kr/v1alpha1\nkind: Cluster\nmetadata: {name: " + name + "}\nspec: {clustercatalog: " + catalog + "}\n"
	}
	write("a.yaml", cluster("a", "one"))
	write("b.yaml", cluster("b", "one"))
	write("c.yaml", cluster("c", "one"))

	builds := NewBuildCache()
	key := types.NamespacedName{Namespace: "tenant", Name: "fleet"}
	load := func(wantParsed int) {
		t.Helper()
		got, err := builds.load(key, "tenant", dir)
		require.NoError(t, err)
		want, err := loader.LoadDir(dir, loader.Options{FleetNamespace: "tenant"})
		require.NoError(t, err)
		require.Equal(t, want, got)
		require.Equal(t, wantParsed, builds.loads[key].cache.Parsed)
	}
	load(3)
	write("b.yaml", cluster("b", "two"))
	load(1)
	require.NoError(t, os.Remove(filepath.Join(dir, "c.yaml")))
	load(0)

	builds.Forget(key)
	load(2)
}
