package gitstatus_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcn-ssu/lkaas/internal/gitstatus"
)

// statusCommit is an update as the status writer makes it: a subject, the files, and the
// trailers naming the Fleet and the source revision.
func statusCommit(fleet, revision, file, content string) gitstatus.Update {
	return func(map[string][]byte) (map[string][]byte, string, error) {
		return map[string][]byte{file: []byte(content)},
			"status " + content + "\n\nupdate " + file + "\n\n" + gitstatus.Trailers(fleet, revision), nil
	}
}

// The log of a status branch comes from the writer's kept clone: it names each commit's
// Fleet and source revision from the trailers, follows pushes by others, and is read without
// the Git server (stopped here) and without waiting for a pass.
func TestWriterLogReadsTheStatusBranchFromItsClone(t *testing.T) {
	srv, url := gitServer(t)
	w := &gitstatus.Writer{TempDir: t.TempDir()}
	defer w.Close()
	ctx := context.Background()
	tgt := target(url)

	_, known := w.Log(url, tgt.Branch)
	assert.False(t, known, "no pass has read the branch yet")

	first, err := w.Write(ctx, tgt, "status/", statusCommit("edge/edge", "main@sha1:1111", "status/edge.yaml", "one"))
	require.NoError(t, err)
	log, known := w.Log(url, tgt.Branch)
	require.True(t, known)
	require.Len(t, log, 2, "the status commit on the watched branch's commit")
	assert.Equal(t, gitstatus.Commit{Hash: first.Commit, Time: log[0].Time, Subject: "status one",
		Fleet: "edge/edge", SourceRevision: "main@sha1:1111"}, log[0])
	assert.Empty(t, log[1].Fleet, "the watched branch's commit is no status commit")

	// Someone else pushes; another Fleet writes to the same branch; the first one again.
	human := cloneCLI(t, url, "lkaas/status")
	require.NoError(t, os.WriteFile(filepath.Join(human, "NOTES.md"), []byte("reviewed\n"), 0o644))
	gitCLI(t, human, "add", "NOTES.md")
	gitCLI(t, human, "commit", "--quiet", "-m", "human: review notes")
	gitCLI(t, human, "push", "--quiet", "origin", "lkaas/status")
	other, err := w.Write(ctx, tgt, "status/", statusCommit("other/tenant", "main@sha1:2222", "status/other.yaml", "two"))
	require.NoError(t, err)
	again, err := w.Write(ctx, tgt, "status/", statusCommit("edge/edge", "main@sha1:3333", "status/edge.yaml", "three"))
	require.NoError(t, err)

	srv.StopHTTP() // the log is read from what the writer kept
	log, known = w.Log(url, tgt.Branch)
	require.True(t, known)
	var got []string
	for _, c := range log {
		got = append(got, c.Subject+" | "+c.Fleet+" | "+c.SourceRevision)
	}
	assert.Equal(t, []string{
		"status three | edge/edge | main@sha1:3333",
		"status two | other/tenant | main@sha1:2222",
		"human: review notes |  | ",
		"status one | edge/edge | main@sha1:1111",
	}, got[:4])
	require.Len(t, log, 5, "and the watched branch's commit")
	assert.Equal(t, again.Commit, log[0].Hash)
	assert.Equal(t, other.Commit, log[1].Hash)
	assert.Equal(t, first.Commit, log[3].Hash)
	assert.Equal(t, gitCLI(t, human, "rev-parse", "HEAD"), log[2].Hash)
	_, known = w.Log(url, "another-branch")
	assert.False(t, known)
}
