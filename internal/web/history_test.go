package web_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fluxcd/pkg/gittestserver"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dcn-ssu/lkaas/internal/gitstatus"
	"github.com/dcn-ssu/lkaas/internal/web"
)

// statusCommits are the status commits seedStatusBranch pushed, oldest first.
var statusCommits struct{ edge, tenantB []string }

// seedStatusBranch pushes status commits of two Fleets to one branch of a real Git server
// through the status writer, the way the controller does, then stops the server: the page
// reads the history from what the writer kept, never from the network. Fleet edge's source
// is on GitHub (its revisions link there); tenant-b's is the local server (revisions as text).
func seedStatusBranch(ctx context.Context, c client.Client) (*gitstatus.Writer, func(), error) {
	srv, err := gittestserver.NewTempGitServer()
	if err != nil {
		return nil, nil, err
	}
	fixture, err := os.MkdirTemp("", "lkaas-web-fleet-")
	if err != nil {
		return nil, nil, err
	}
	w := &gitstatus.Writer{TempDir: fixture}
	cleanup := func() { w.Close(); srv.StopHTTP(); _ = os.RemoveAll(srv.Root()); _ = os.RemoveAll(fixture) }
	if err := os.WriteFile(filepath.Join(fixture, "fleet.yaml"), []byte("# fleet\n"), 0o644); err != nil {
		return nil, cleanup, err
	}
	if err := srv.InitRepo(fixture, "main", "org/fleet.git"); err != nil {
		return nil, cleanup, err
	}
	if err := srv.StartHTTP(); err != nil {
		return nil, cleanup, err
	}
	statusURL := srv.HTTPAddress() + "/org/fleet.git"

	repos := map[string]string{"edge": "https://github.com/dcn-ssu/fleet.git", "other": statusURL}
	for ns, url := range repos {
		name := map[string]string{"edge": "edge", "other": "tenant-b"}[ns]
		if err := c.Create(ctx, &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: sourcev1.GitRepositorySpec{URL: url, Interval: metav1.Duration{Duration: 60e9},
				Reference: &sourcev1.GitRepositoryRef{Branch: "main"}}}); err != nil {
			return nil, cleanup, err
		}
	}
	// Fleet edge writes its status to the local server, not to its source on GitHub.
	edge := fleet("edge", "edge")
	if err := c.Get(ctx, client.ObjectKeyFromObject(edge), edge); err != nil {
		return nil, cleanup, err
	}
	edge.Spec.WriteBack.URL = statusURL
	if err := c.Update(ctx, edge); err != nil {
		return nil, cleanup, err
	}

	target := gitstatus.Target{URL: statusURL, Branch: "lkaas/status", BaseBranch: "main"}
	write := func(fleet, revision, file, content string) (string, error) {
		res, err := w.Write(ctx, target, "status/", func(map[string][]byte) (map[string][]byte, string, error) {
			return map[string][]byte{file: []byte(content)},
				"lkaas: status of " + fleet + "\n\nupdate " + file + "\n\n" + gitstatus.Trailers(fleet, revision), nil
		})
		return res.Commit, err
	}
	for _, step := range []struct{ fleet, revision, file, content string }{
		{"edge/edge", "main@sha1:" + sha("edge-rev-1"), "status/edge/cluster/central-cluster.yaml", "phase: Provisioning\n"},
		{"other/tenant-b", "main@sha1:" + sha("tenant-b"), "status/other/cluster/lonely.yaml", "phase: Ready\n"},
		{"edge/edge", "main@sha1:" + sha("edge-rev"), "status/edge/cluster/central-cluster.yaml", "phase: Ready\n"},
	} {
		commit, err := write(step.fleet, step.revision, step.file, step.content)
		if err != nil {
			return nil, cleanup, err
		}
		if step.fleet == "edge/edge" {
			statusCommits.edge = append(statusCommits.edge, commit)
		} else {
			statusCommits.tenantB = append(statusCommits.tenantB, commit)
		}
	}
	srv.StopHTTP()
	return w, cleanup, nil
}

// rows returns the commit rows of a history page.
func rows(t *testing.T, body string) []string {
	t.Helper()
	_, table, ok := strings.Cut(body, `<table id="commits">`)
	require.True(t, ok, "no commit table in\n%s", body)
	table, _, _ = strings.Cut(table, "</table>")
	return strings.Split(table, `<tr class="commit"`)[1:]
}

// The history page lists the status branch's commits of that Fleet only, newest first, each
// linked to the source revision that caused it: to the forge's commit page when the source is
// an https URL on a known forge, as text otherwise. The Git server is stopped: the page reads
// the log the status writer kept.
func TestHistoryPageReadsTheStatusBranch(t *testing.T) {
	status, body := get(t, "/fleets/edge/edge/history")
	require.Equal(t, 200, status, body)
	assert.Contains(t, body, "on branch <code>lkaas/status</code>")
	edge := rows(t, body)
	require.Len(t, edge, 2, "the two status commits of Fleet edge, not tenant-b's nor the watched branch's")
	for i, want := range []struct{ commit, revision string }{
		{statusCommits.edge[1], sha("edge-rev")}, {statusCommits.edge[0], sha("edge-rev-1")},
	} {
		assert.Contains(t, edge[i], `data-commit="`+want.commit+`"`)
		assert.Contains(t, edge[i], `<a href="https://github.com/dcn-ssu/fleet/commit/`+want.revision+`"`)
		assert.Contains(t, edge[i], "lkaas: status of edge/edge")
	}
	assert.Contains(t, body, `Applied source revision now: <a href="https://github.com/dcn-ssu/fleet/commit/`+sha("edge-rev")+`"`)

	status, body = get(t, "/fleets/other/tenant-b/history")
	require.Equal(t, 200, status, body)
	tenantB := rows(t, body)
	require.Len(t, tenantB, 1)
	assert.Contains(t, tenantB[0], `data-commit="`+statusCommits.tenantB[0]+`"`)
	assert.Contains(t, tenantB[0], `<td class="revision"><code title="main@sha1:`+sha("tenant-b")+`">`, "a plain-HTTP source is no forge: text")
	assert.NotContains(t, tenantB[0], "<a ")

	// A Fleet whose branch the writer has not read: what the controller saw since it started.
	status, body = get(t, "/fleets/edge/broken/history")
	require.Equal(t, 200, status, body)
	assert.Contains(t, body, "has not read branch <code>lkaas/status</code>")
	assert.Contains(t, body, "No status commit yet.")
}

func TestCommitURL(t *testing.T) {
	hash := strings.Repeat("ab12", 10)
	tests := []struct{ repo, revision, want string }{
		{"https://github.com/dcn-ssu/fleet.git", "main@sha1:" + hash, "https://github.com/dcn-ssu/fleet/commit/" + hash},
		{"https://github.com/dcn-ssu/fleet", "sha1:" + hash, "https://github.com/dcn-ssu/fleet/commit/" + hash},
		{"https://GitHub.com/dcn-ssu/fleet/", "main/" + hash, "https://github.com/dcn-ssu/fleet/commit/" + hash},
		{"https://gitlab.com/group/sub/fleet.git", hash, "https://gitlab.com/group/sub/fleet/-/commit/" + hash},
		{"https://bitbucket.org/team/fleet.git", "v1.0@sha1:" + hash, "https://bitbucket.org/team/fleet/commits/" + hash},
		{"https://codeberg.org/team/fleet.git", hash, "https://codeberg.org/team/fleet/commit/" + hash},
		{"https://user:token@github.com/dcn-ssu/fleet.git", hash, "https://github.com/dcn-ssu/fleet/commit/" + hash},
		{"http://github.com/dcn-ssu/fleet.git", hash, ""},
		{"ssh://git@github.com/dcn-ssu/fleet.git", hash, ""},
		{"https://git.example.com/dcn-ssu/fleet.git", hash, ""},
		{"https://github.com/fleet.git", hash, ""},
		{"https://github.com/dcn-ssu/fleet.git", "main@sha1:<script>", ""},
		{"https://github.com/dcn-ssu/fleet.git", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.repo+" "+tc.revision, func(t *testing.T) {
			assert.Equal(t, tc.want, web.CommitURL(tc.repo, tc.revision))
		})
	}
}
