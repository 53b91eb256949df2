package controllers_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/internal/repofiles"
)

// BenchmarkClusterController1000Clusters: 1,000 L-KaaS Clusters in one namespace, rendered
// from the CAPD in-memory template and applied by the real Cluster controller against the
// real API server (no CAPI controllers: nothing changes their status). Then every cluster's
// reconcile is woken without changing any render (a new, unused key in the files ConfigMap
// that all of them read): the steady state must write nothing.
func BenchmarkClusterController1000Clusters(b *testing.B) {
	clusters := benchClusters()
	for i := 0; i < b.N; i++ {
		ns := clusterFixture(b)
		ctx := context.Background()

		before := scrapeRequests(b)
		start := time.Now()
		for j := 0; j < clusters; j++ {
			newCluster(b, ns, fmt.Sprintf("site-%d", j))
		}
		waitAllApplied(b, ns, clusters, 15*time.Minute)
		took := time.Since(start)
		d := scrapeRequests(b).minus(before)
		b.ReportMetric(took.Seconds(), "first-apply-s")
		b.ReportMetric(d.capiWrites, "first-apply-capi-writes")
		b.ReportMetric(d.clusterStatusWrites/float64(clusters), "first-apply-status-writes-per-cluster")
		b.Logf("first apply of %d clusters: %.1fs; writes: %.0f CAPI objects, %.0f to Clusters (the test's creates and the controller's metadata), %.0f Cluster status, %.0f other (events), %.0f L-KaaS object applies; %.0f dry-runs",
			clusters, took.Seconds(), d.capiWrites, d.clusterWrites, d.clusterStatusWrites, d.otherWrites, d.objectWrites, d.dryRuns)

		// Wake every cluster: the files ConfigMap is read by all of them.
		cm := &corev1.ConfigMap{}
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: repofiles.ConfigMapName("fleet")}, cm); err != nil {
			b.Fatal(err)
		}
		// The wake is measured from a settled state: the first apply's last passes (a second
		// pass after each record, the status of the last clusters) must not count as steady
		// state. A fixed two-second pause did not cover them at 1,000 clusters.
		if !quietWithin(b, 3*time.Minute) {
			b.Fatal("the controllers did not settle after the first apply")
		}
		before = scrapeRequests(b)
		cm.Data["unused"] = time.Now().String()
		if err := env.Client.Update(ctx, cm); err != nil {
			b.Fatal(err)
		}
		// Counted over at least 20 s, and on until every controller is idle again, so a
		// wake that a busy machine spreads out is counted whole.
		time.Sleep(20 * time.Second)
		if !quietWithin(b, 3*time.Minute) {
			b.Fatal("the controllers did not settle after the wake")
		}
		d = scrapeRequests(b).minus(before)
		writes := d.objectWrites + d.fleetWrites + d.clusterWrites + d.clusterStatusWrites + d.capiWrites + d.otherWrites - 1 // the test's own ConfigMap update
		b.ReportMetric(writes, "steady-state-writes")
		b.ReportMetric(d.dryRuns, "steady-state-dry-runs")
		b.Logf("steady state after waking all %d clusters: %.0f writes, %.0f dry-runs, %.0f reads", clusters, writes, d.dryRuns, d.reads)
		if writes != 0 || d.dryRuns != 0 {
			b.Errorf("steady state wrote %.0f times and dry-ran %.0f times", writes, d.dryRuns)
		}
		// The memory is read once the wake's reconciles are over, so that the heap is what
		// the caches hold, not the work in flight (the peak RSS counts that, too).
		b.Logf("controllers idle for the memory reading: %v", quietWithin(b, 3*time.Minute))
		reportMemory(b, clusters)
	}
}

// quietWithin waits up to limit for every controller to be idle for a second in a row (see
// waitIdle) and says whether they were.
func quietWithin(b *testing.B, limit time.Duration) bool {
	b.Helper()
	for start, quiet := time.Now(), 0; quiet < 5; {
		if time.Since(start) > limit {
			return false
		}
		time.Sleep(200 * time.Millisecond)
		if busy(b) {
			quiet = 0
			continue
		}
		quiet++
	}
	return true
}

// reportMemory prints what the test process (the L-KaaS manager with its caches, the test's
// own client) holds with every cluster applied and cached: the Go heap in use after a
// collection, the resident set now (VmRSS) and at its peak (VmHWM). With
// LKAAS_BENCH_HEAPPROFILE set, it also writes the heap profile there (go tool pprof).
func reportMemory(b *testing.B, clusters int) {
	b.Helper()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss, hwm := procStatusMiB("VmRSS:"), procStatusMiB("VmHWM:")
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-inuse-MiB")
	b.ReportMetric(hwm, "peak-RSS-MiB")
	b.Logf("memory with %d clusters cached: Go heap in use after GC %.1f MiB (live objects %.1f MiB), RSS %.0f MiB, peak RSS %.0f MiB",
		clusters, float64(ms.HeapInuse)/(1<<20), float64(ms.HeapAlloc)/(1<<20), rss, hwm)
	if path := os.Getenv("LKAAS_BENCH_HEAPPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		if err := pprof.WriteHeapProfile(f); err != nil {
			b.Fatal(err)
		}
	}
}

// procStatusMiB reads one kB field of /proc/self/status, in MiB.
func procStatusMiB(field string) float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

func waitAllApplied(b *testing.B, ns string, n int, timeout time.Duration) {
	b.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var list automationv1alpha1.ClusterList
		if err := env.Client.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
			b.Fatal(err)
		}
		applied := 0
		for _, c := range list.Items {
			if c.Status.AppliedRenderHash != "" && c.Status.AppliedRenderHash == c.Status.RenderHash {
				applied++
			}
		}
		if applied == n {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d clusters applied after %s", applied, n, timeout)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// benchClusters is 1,000 unless LKAAS_BENCH_CLUSTERS says otherwise (for a quick look).
func benchClusters() int {
	if n, err := strconv.Atoi(os.Getenv("LKAAS_BENCH_CLUSTERS")); err == nil && n > 0 {
		return n
	}
	return 1000
}
