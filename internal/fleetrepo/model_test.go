package fleetrepo

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// editFile rewrites one file of the tree with edit.
func editFile(t testing.TB, dir, name string, edit func(string) string) {
	t.Helper()
	path := filepath.Join(dir, name)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	changed := edit(string(data))
	require.NotEqual(t, string(data), changed, "the edit of %s changed nothing", name)
	require.NoError(t, os.WriteFile(path, []byte(changed), 0o644))
}

// memberCatalog moves one logical-cluster member to another catalog: a one-cluster change.
func memberCatalog(member string, catalog int) func(string) string {
	re := regexp.MustCompile(`(name: ` + member + `, .*clustercatalog: )catalog-\d+`)
	return func(s string) string { return re.ReplaceAllString(s, fmt.Sprintf("${1}catalog-%d", catalog)) }
}

// A Model's build after each kind of change equals a build from scratch of the same tree:
// plans, rendered objects, the loaded set and the problems.
func TestModelEqualsFullBuild(t *testing.T) {
	dir := t.TempDir()
	writeFleet(t, dir, 60, 3, 9)
	steps := []struct {
		name   string
		change func(t *testing.T)
		// what the model must have done again (-1: not checked)
		parsed, resolved, rendered int
		incremental                bool
	}{
		{"first build", func(*testing.T) {}, -1, 60, 60, false},
		{"nothing changed", func(*testing.T) {}, 0, 0, 0, true},
		{"one member moves to another catalog", func(t *testing.T) {
			editFile(t, dir, "logical/lc-1.yaml", memberCatalog("lc-1-site-4", 2))
		}, 1, 20, 1, true},
		{"a profile change that touches many clusters", func(t *testing.T) {
			editFile(t, dir, "profiles.yaml", func(s string) string {
				return strings.Replace(s, "kubernetesVersion: v1.34.0, controlPlaneMachineCount: 1, workerMachineCount: 1}", "kubernetesVersion: v1.34.9, controlPlaneMachineCount: 1, workerMachineCount: 1}", 1)
			})
		}, 1, 60, 19, true},
		{"a logical cluster's file is deleted", func(t *testing.T) {
			require.NoError(t, os.Remove(filepath.Join(dir, "logical/lc-2.yaml")))
		}, 0, 0, 0, true},
		{"a cluster is renamed", func(t *testing.T) {
			editFile(t, dir, "logical/lc-0.yaml", func(s string) string {
				return strings.Replace(s, "name: lc-0-site-7,", "name: lc-0-renamed,", 1)
			})
		}, 1, 20, 1, true},
		{"a standalone cluster is added", func(t *testing.T) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, "standalone.yaml"), []byte(`apiVersion: automation.dcn.ssu.ac.kr/v1alpha1
kind: Cluster
metadata: {name: alone, namespace: fleet}
spec: {clustercatalog: catalog-1}
`), 0o644))
		}, 1, 1, 1, true},
		{"a member names a catalog that does not exist", func(t *testing.T) {
			editFile(t, dir, "logical/lc-1.yaml", memberCatalog("lc-1-site-5", 99))
		}, -1, -1, -1, false},
		{"the mistake is mended", func(t *testing.T) {
			editFile(t, dir, "logical/lc-1.yaml", memberCatalog("lc-1-site-5", 1))
		}, -1, 41, 41, false},
		{"a document that does not load", func(t *testing.T) {
			editFile(t, dir, "standalone.yaml", func(s string) string { return s + "  bogus: [\n" })
		}, -1, -1, -1, false},
		{"the template changes", func(t *testing.T) {
			require.NoError(t, os.Remove(filepath.Join(dir, "standalone.yaml")))
			editFile(t, dir, "templates/in-memory.yaml", func(s string) string {
				return strings.Replace(s, "kind: Cluster\n", "kind: Cluster\n# edited\n", 1)
			})
		}, -1, 40, 40, false},
		{"one member moves back", func(t *testing.T) {
			editFile(t, dir, "logical/lc-1.yaml", memberCatalog("lc-1-site-4", 1))
		}, 1, 20, 1, true},
	}

	model := NewModel(Options{Render: true})
	for _, step := range steps {
		step.change(t)
		got, gotErr := model.BuildDir(context.Background(), dir)
		want, wantErr := BuildDir(context.Background(), dir, Options{Render: true})
		require.Equal(t, fmt.Sprint(wantErr), fmt.Sprint(gotErr), step.name)
		if want == nil {
			require.Nil(t, got, step.name)
			continue
		}
		require.Equal(t, want.Set, got.Set, "%s: loaded set", step.name)
		require.Equal(t, want.Plans, got.Plans, "%s: plans", step.name)
		require.Equal(t, want.Rendered, got.Rendered, "%s: rendered objects", step.name)
		require.Equal(t, want.Unrendered, got.Unrendered, "%s: unrendered", step.name)

		s := model.Stats
		require.Equal(t, step.incremental, s.Incremental, "%s: incremental", step.name)
		for what, pair := range map[string][2]int{"files parsed": {step.parsed, s.FilesParsed},
			"clusters resolved": {step.resolved, s.ClustersResolved}, "clusters rendered": {step.rendered, s.ClustersRendered}} {
			if pair[0] >= 0 {
				require.Equal(t, pair[0], pair[1], "%s: %s", step.name, what)
			}
		}
	}
}
