package controllers_test

import (
	"archive/tar"
	"compress/gzip"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const (
	defaultWait = 60 * time.Second
	tick        = 100 * time.Millisecond
)

// writeTarball writes a gzipped tarball with the entries as given, even unsafe ones.
func writeTarball(t *testing.T, path string, entries map[string]string) {
	t.Helper()
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	names := make([]string, 0, len(entries))
	for n := range entries {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(entries[n])), Typeflag: tar.TypeReg}))
		_, err := tw.Write([]byte(entries[n]))
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	require.NoError(t, gz.Close())
}
