package source_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/testserver"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcn-ssu/lkaas/internal/source"
)

type tarEntry struct {
	name, body, linkTarget string
}

// writeTarball writes a gzipped tarball into the server's root, as source-controller would
// publish it, and returns its artifact.
func writeTarball(t *testing.T, srv *testserver.ArtifactServer, name string, entries []tarEntry) *meta.Artifact {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.body)), Typeflag: tar.TypeReg}
		if e.linkTarget != "" {
			hdr = &tar.Header{Name: e.name, Linkname: e.linkTarget, Typeflag: tar.TypeSymlink, Mode: 0o777}
		}
		require.NoError(t, tw.WriteHeader(hdr))
		if e.linkTarget == "" {
			_, err := tw.Write([]byte(e.body))
			require.NoError(t, err)
		}
	}
	require.NoError(t, tw.Close())
	require.NoError(t, gz.Close())
	require.NoError(t, os.WriteFile(filepath.Join(srv.Root(), name), buf.Bytes(), 0o644))
	return artifactFor(t, srv, name)
}

func artifactFor(t *testing.T, srv *testserver.ArtifactServer, name string) *meta.Artifact {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(srv.Root(), name))
	require.NoError(t, err)
	url, err := srv.URLForFile(name)
	require.NoError(t, err)
	return &meta.Artifact{URL: url, Revision: "main@sha1:" + strings.Repeat("a", 40),
		Digest: fmt.Sprintf("sha256:%x", sha256.Sum256(data)), Path: name}
}

func newServer(t *testing.T) *testserver.ArtifactServer {
	t.Helper()
	srv, err := testserver.NewTempArtifactServer()
	require.NoError(t, err)
	srv.Start()
	t.Cleanup(func() { srv.Stop(); _ = os.RemoveAll(srv.Root()) })
	return srv
}

func TestFetchUnpacksAVerifiedArtifact(t *testing.T) {
	srv := newServer(t)
	name, err := srv.ArtifactFromFiles([]testserver.File{
		{Name: "tenants/starlab/cluster.yaml", Body: "kind: Cluster\n"},
		{Name: "profiles/calico.yaml", Body: "kind: InfrastructureProfile\n"},
	})
	require.NoError(t, err)
	dir := t.TempDir()

	require.NoError(t, source.NewFetcher(source.FetcherOptions{}).Fetch(context.Background(), artifactFor(t, srv, name), dir))

	got, err := os.ReadFile(filepath.Join(dir, "tenants", "starlab", "cluster.yaml"))
	require.NoError(t, err)
	assert.Equal(t, "kind: Cluster\n", string(got))
	assert.FileExists(t, filepath.Join(dir, "profiles", "calico.yaml"))
}

// Artifacts that must never be unpacked: each fails and leaves nothing behind.
func TestFetchRefusesUnsafeArtifacts(t *testing.T) {
	big := strings.Repeat("x", 64<<10)
	cases := []struct {
		name    string
		entries []tarEntry
		opts    source.FetcherOptions
		tamper  func(a *meta.Artifact)
		want    string
	}{
		{
			name:    "digest mismatch",
			entries: []tarEntry{{name: "a.yaml", body: "kind: Cluster\n"}},
			tamper:  func(a *meta.Artifact) { a.Digest = "sha256:" + strings.Repeat("0", 64) },
			want:    "computed digest doesn't match",
		},
		{
			name:    "entry that climbs out with ../",
			entries: []tarEntry{{name: "../escape.yaml", body: "kind: Cluster\n"}},
			want:    "failed to extract archive",
		},
		{
			name:    "download larger than the limit",
			entries: []tarEntry{{name: "a.yaml", body: big}},
			opts:    source.FetcherOptions{MaxDownloadSize: 100},
			want:    "greater than the max download size of 100 bytes",
		},
		{
			name:    "unpacked size larger than the limit",
			entries: []tarEntry{{name: "a.yaml", body: big}},
			opts:    source.FetcherOptions{MaxUntarSize: 1024},
			want:    "failed to extract archive",
		},
		{
			name:    "no digest",
			entries: []tarEntry{{name: "a.yaml", body: "kind: Cluster\n"}},
			tamper:  func(a *meta.Artifact) { a.Digest = "" },
			want:    "has no digest",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t)
			artifact := writeTarball(t, srv, "artifact.tar.gz", tc.entries)
			if tc.tamper != nil {
				tc.tamper(artifact)
			}
			parent := t.TempDir()
			dir := filepath.Join(parent, "unpacked")
			require.NoError(t, os.Mkdir(dir, 0o700))

			err := source.NewFetcher(tc.opts).Fetch(context.Background(), artifact, dir)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NoFileExists(t, filepath.Join(parent, "escape.yaml"))
			assert.NoFileExists(t, filepath.Join(dir, "a.yaml"), "nothing is unpacked from a refused artifact")
		})
	}
}

// A symbolic link in the tarball is skipped, so nothing can point outside the directory.
func TestFetchSkipsSymlinks(t *testing.T) {
	srv := newServer(t)
	artifact := writeTarball(t, srv, "artifact.tar.gz", []tarEntry{
		{name: "passwd.yaml", linkTarget: "/etc/passwd"},
		{name: "cluster.yaml", body: "kind: Cluster\n"},
	})
	dir := t.TempDir()
	require.NoError(t, source.NewFetcher(source.FetcherOptions{}).Fetch(context.Background(), artifact, dir))
	assert.FileExists(t, filepath.Join(dir, "cluster.yaml"))
	_, err := os.Lstat(filepath.Join(dir, "passwd.yaml"))
	assert.True(t, os.IsNotExist(err), "the link is not created")
}

func TestFetchReportsAnArtifactThatIsGone(t *testing.T) {
	srv := newServer(t)
	url, err := srv.URLForFile("gone.tar.gz")
	require.NoError(t, err)
	artifact := &meta.Artifact{URL: url, Revision: "main@sha1:abc", Digest: "sha256:" + strings.Repeat("0", 64)}
	err = source.NewFetcher(source.FetcherOptions{Retries: 1}).Fetch(context.Background(), artifact, t.TempDir())
	assert.ErrorIs(t, err, source.ErrArtifactNotFound)
}
