package gitstatus_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"path/filepath"
	"slices"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/internal/gitstatus"
)

// countingProxy forwards to a Git server and counts the bytes the server sends back: what
// a writer downloads, ref advertisements included.
func countingProxy(t testing.TB, upstream string) (string, *atomic.Int64) {
	t.Helper()
	u, err := url.Parse(upstream)
	require.NoError(t, err)
	var received atomic.Int64
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(u) },
		ModifyResponse: func(resp *http.Response) error {
			resp.Body = &countingBody{ReadCloser: resp.Body, n: &received}
			return nil
		},
	}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	return srv.URL, &received
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// fleetOf is bigFleet with each cluster's phase from ready (true: Ready, false: Provisioning).
func fleetOf(ready []bool) gitstatus.Snapshot {
	s := bigFleet(len(ready), automationv1alpha1.ClusterPhaseReady)
	for i, r := range ready {
		if !r {
			s.Clusters[i].Status.Phase = automationv1alpha1.ClusterPhaseProvisioning
		}
	}
	return s
}

// buildHistory gives the server's branch lkaas/status (from main) `commits` status commits
// of a 1,000-cluster fleet with git fast-import: the first writes every document, each
// next one flips one cluster's phase. Pushing them one by one would take hours.
func buildHistory(t testing.TB, repoDir string, clusters, commits int) {
	t.Helper()
	ready := make([]bool, clusters)
	docs, err := gitstatus.Documents("status/", fleetOf(ready))
	require.NoError(t, err)
	flipped := make([]bool, clusters)
	for i := range flipped {
		flipped[i] = true
	}
	readyDocs, err := gitstatus.Documents("status/", fleetOf(flipped))
	require.NoError(t, err)
	var stream bytes.Buffer
	data := func(b []byte) { fmt.Fprintf(&stream, "data %d\n%s\n", len(b), b) }
	for i := range commits {
		fmt.Fprintf(&stream, "commit refs/heads/lkaas/status\ncommitter L-KaaS <lkaas@example.com> %d +0000\n", 1_700_000_000+i)
		data([]byte(fmt.Sprintf("status %d", i)))
		changed := docs
		if i == 0 {
			stream.WriteString("from refs/heads/main^0\n")
		} else {
			k := i % clusters
			ready[k] = !ready[k]
			name := fmt.Sprintf("status/tenant/cluster/edge-%04d.yaml", k)
			changed = map[string][]byte{name: docs[name]}
			if ready[k] {
				changed[name] = readyDocs[name]
			}
		}
		for _, name := range slices.Sorted(maps.Keys(changed)) {
			fmt.Fprintf(&stream, "M 100644 inline %s\n", name)
			data(changed[name])
		}
	}
	cmd := exec.Command("git", "fast-import", "--quiet")
	cmd.Dir = repoDir
	cmd.Stdin = &stream
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "git fast-import: %s", out)
}

// cpuTime is the CPU time of this process and of its waited-for children (the Git
// server's git processes): on a shared machine it tells the work done apart from the wait.
func cpuTime(t testing.TB) time.Duration {
	t.Helper()
	var total time.Duration
	for _, who := range []int{syscall.RUSAGE_SELF, syscall.RUSAGE_CHILDREN} {
		var ru syscall.Rusage
		require.NoError(t, syscall.Getrusage(who, &ru))
		total += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return total
}

// BenchmarkStatusCommitHistory: a 1,000-cluster Fleet whose status branch already holds
// 100, 1,000 or 10,000 commits; one op is one cluster changing phase: render, fetch what is
// new, plan, commit, push. It reports the bytes the server sent per op (flat when the
// writer fetches only what is new) and, once, what the first pass's clone downloaded
// (which does grow with history). cpu-s/op adds the Git server's CPU to the writer's: wall
// seconds on a shared machine include waiting for the other tenants.
func BenchmarkStatusCommitHistory(b *testing.B) {
	for _, commits := range []int{100, 1_000, 10_000} {
		b.Run(fmt.Sprintf("commits=%d", commits), func(b *testing.B) {
			srv, _ := gitServer(b)
			buildHistory(b, filepath.Join(srv.Root(), "org", "fleet.git"), 1000, commits)
			proxyURL, received := countingProxy(b, srv.HTTPAddress())
			w := &gitstatus.Writer{TempDir: b.TempDir()}
			defer w.Close()
			tgt := target(proxyURL + "/org/fleet.git")
			ctx := context.Background()
			ready := make([]bool, 1000)
			files := 0
			write := func() gitstatus.Result {
				docs, err := gitstatus.Documents("status/", fleetOf(ready))
				require.NoError(b, err)
				res, err := w.Write(ctx, tgt, "status/", func(tree map[string][]byte) (map[string][]byte, string, error) {
					changes, err := gitstatus.Plan("status/", "tenant/fleet", docs, tree)
					files = len(changes)
					return changes, "status", err
				})
				require.NoError(b, err)
				return res
			}
			write() // the first pass clones the history and brings the branch to this state
			cloneBytes := received.Load()
			received.Store(0)
			cpu0 := cpuTime(b)
			b.ResetTimer()
			ops := 0
			for i := 0; b.Loop(); i++ {
				ready[i%1000] = !ready[i%1000]
				res := write()
				require.NotEmpty(b, res.Commit)
				require.Equal(b, 1, res.Attempts)
				ops++
			}
			b.ReportMetric((cpuTime(b)-cpu0).Seconds()/float64(ops), "cpu-s/op")
			b.ReportMetric(float64(received.Load())/float64(ops), "fetched-bytes/op")
			b.ReportMetric(float64(cloneBytes), "first-clone-bytes")
			b.ReportMetric(float64(files), "commit-files")
		})
	}
}
