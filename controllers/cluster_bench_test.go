package controllers_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
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
		b.ReportMetric(d.otherWrites, "first-apply-capi-writes")
		b.Logf("first apply of %d clusters: %.1fs, %.0f writes to CAPI and other objects, %.0f to L-KaaS objects, %.0f dry-runs",
			clusters, took.Seconds(), d.otherWrites, d.objectWrites, d.dryRuns)

		// Wake every cluster: the files ConfigMap is read by all of them.
		cm := &corev1.ConfigMap{}
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: repofiles.ConfigMapName("fleet")}, cm); err != nil {
			b.Fatal(err)
		}
		time.Sleep(2 * time.Second)
		before = scrapeRequests(b)
		cm.Data["unused"] = time.Now().String()
		if err := env.Client.Update(ctx, cm); err != nil {
			b.Fatal(err)
		}
		time.Sleep(20 * time.Second) // ample for 1,000 reconciles at the suite's concurrency
		d = scrapeRequests(b).minus(before)
		writes := d.objectWrites + d.fleetWrites + d.otherWrites - 1 // the test's own ConfigMap update
		b.ReportMetric(writes, "steady-state-writes")
		b.ReportMetric(d.dryRuns, "steady-state-dry-runs")
		b.Logf("steady state after waking all %d clusters: %.0f writes, %.0f dry-runs, %.0f reads", clusters, writes, d.dryRuns, d.reads)
		if writes != 0 || d.dryRuns != 0 {
			b.Errorf("steady state wrote %.0f times and dry-ran %.0f times", writes, d.dryRuns)
		}
	}
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
