package controllers_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A broken commit changes nothing: the Fleet reports why (with file:line) and the last good
// revision stays applied.
func TestFleetRefusesAnInvalidRevisionWhole(t *testing.T) {
	ns := env.Namespace(t)
	r := newRepo(t, ns, "fleet-repo")
	good := r.push(t, fleetFiles("v1.30.1", "seoul", "busan"))
	f := newFleet(t, r)
	waitApplied(t, f, good)

	cases := []struct {
		name    string
		publish func(t *testing.T) string
		reason  string
		want    string
	}{
		{
			name: "YAML syntax error in one file of an otherwise fine commit",
			publish: func(t *testing.T) string {
				files := fleetFiles("v1.31.0", "seoul", "busan", "gwangju")
				files["clusters/broken.yaml"] = "apiVersion: automation.dcn.ssu.ac.kr/v1alpha1\nkind: Cluster\nmetadata:\n  name: [daegu\n"
				return r.push(t, files)
			},
			reason: "ValidationFailed",
			want:   "clusters/broken.yaml:",
		},
		{
			name: "cluster naming a catalog that does not exist",
			publish: func(t *testing.T) string {
				files := fleetFiles("v1.31.0", "seoul", "busan")
				files["clusters/daegu.yaml"] = "apiVersion: automation.dcn.ssu.ac.kr/v1alpha1\nkind: Cluster\nmetadata:\n  name: daegu\nspec:\n  clusterCatalog: huge\n"
				return r.push(t, files)
			},
			reason: "ValidationFailed",
			want:   "clusters/daegu.yaml:",
		},
		{
			name: "document in another namespace",
			publish: func(t *testing.T) string {
				files := fleetFiles("v1.31.0", "seoul", "busan")
				files["clusters/daegu.yaml"] = "apiVersion: automation.dcn.ssu.ac.kr/v1alpha1\nkind: Cluster\nmetadata:\n  name: daegu\n  namespace: someone-else\nspec:\n  clusterCatalog: small\n"
				return r.push(t, files)
			},
			reason: "ValidationFailed",
			want:   "clusters/daegu.yaml:",
		},
		{
			name: "profile naming a template the commit lacks",
			publish: func(t *testing.T) string {
				files := fleetFiles("v1.31.0", "seoul", "busan")
				delete(files, "templates/cluster-template.yaml")
				return r.push(t, files)
			},
			reason: "ValidationFailed",
			want:   "repository file templates/cluster-template.yaml",
		},
		{
			name: "digest mismatch",
			publish: func(t *testing.T) string {
				name := "tampered.tar.gz"
				writeTarball(t, filepath.Join(artifacts.Root(), name), fleetFiles("v1.31.0", "seoul", "busan", "gwangju"))
				return r.publish(t, name, "main@sha1:tampered", "sha256:"+strings.Repeat("0", 64))
			},
			reason: "ValidationFailed",
			want:   "computed digest doesn't match",
		},
		{
			name: "tarball with an entry that climbs out",
			publish: func(t *testing.T) string {
				name := "escape.tar.gz"
				writeTarball(t, filepath.Join(artifacts.Root(), name), map[string]string{"../../etc/evil.yaml": "kind: Cluster\n"})
				return r.publish(t, name, "main@sha1:escape", "")
			},
			reason: "ValidationFailed",
			want:   "failed to extract archive",
		},
		{
			name: "artifact larger than the limit",
			publish: func(t *testing.T) string {
				name := "huge.tar.gz"
				writeTarball(t, filepath.Join(artifacts.Root(), name), map[string]string{"big.yaml": "# " + strings.Repeat("x", 2<<20) + "\n"})
				return r.publish(t, name, "main@sha1:huge", "")
			},
			reason: "ValidationFailed",
			want:   "failed to extract archive",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rev := tc.publish(t)
			got := waitNotReady(t, f, rev, tc.reason)
			assert.Contains(t, readyMessage(got), tc.want)
			assert.Equal(t, good, got.Status.LastAppliedRevision, "the last good revision stays applied")
			assert.Equal(t, []string{"busan", "seoul"}, namesOf(t, ns), "nothing changed in the cluster")
			require.Len(t, got.Status.Inventory.Entries, 5)
		})
	}
	_, err := os.Stat("/etc/evil.yaml")
	assert.True(t, os.IsNotExist(err))
}
