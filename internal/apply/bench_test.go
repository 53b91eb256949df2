package apply

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
)

const (
	benchClusters        = 1000
	benchLogicalClusters = 10
	benchMembers         = 5
	benchProfiles        = 50
	benchCatalogs        = 10
)

// bigFleet is a 1,000-cluster fleet: 50 profiles, 10 catalogs, 1,000 clusters and 10 logical
// clusters of 5 members (1,070 objects). generation bumps the worker count of one cluster.
func bigFleet(ns string, changed, generation int) []client.Object {
	objs := make([]client.Object, 0, benchProfiles+benchCatalogs+benchClusters+benchLogicalClusters)
	for i := range benchProfiles {
		objs = append(objs, profile(ns, fmt.Sprintf("profile-%02d", i)))
	}
	for i := range benchCatalogs {
		objs = append(objs, catalog(ns, fmt.Sprintf("catalog-%02d", i), fmt.Sprintf("profile-%02d", i)))
	}
	for i := range benchClusters {
		workers := 3
		if i == changed {
			workers += generation
		}
		objs = append(objs, cluster(ns, fmt.Sprintf("cluster-%04d", i), workers))
	}
	for i := range benchLogicalClusters {
		var members []string
		for m := range benchMembers {
			members = append(members, fmt.Sprintf("lc%02d-member-%d", i, m))
		}
		objs = append(objs, logicalCluster(ns, fmt.Sprintf("logical-%02d", i), members...))
	}
	return objs
}

// BenchmarkApply1000Clusters measures the three passes of the issue against the real API
// server: first apply, a one-cluster change and a no-op, each with the API server's own
// request counts (reads, writes, dry runs per op) and the process's peak RSS during the phase.
// LKAAS_APPLY_CONCURRENCY overrides Options.Concurrency to compare settings.
func BenchmarkApply1000Clusters(b *testing.B) {
	ns := env.Namespace(b)
	cache := startCache(b, ns)
	c, writes := countingClient(b)
	opts := Options{Fleet: types.NamespacedName{Namespace: ns, Name: "fleet"}}
	if v := os.Getenv("LKAAS_APPLY_CONCURRENCY"); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(b, err)
		opts.Concurrency = n
	}
	a := New(c, cache, opts)
	ctx := context.Background()

	var inventory []InventoryEntry
	generation := 0
	applied := false // the framework may run a phase more than once, each from the start

	b.Run("first-apply", func(b *testing.B) {
		m := startPhase(b)
		for i := 0; i < b.N; i++ {
			if applied {
				b.StopTimer()
				m.pause(b)
				emptyNamespace(b, cache, ns)
				m.resume(b)
				b.StartTimer()
			}
			changes, inv, err := a.Apply(ctx, bigFleet(ns, -1, 0), nil, "main@sha1:0")
			require.NoError(b, err)
			require.Len(b, changes.IDs(Created), len(inv))
			inventory, applied = inv, true
		}
		m.report(b)
	})

	b.Run("one-cluster-change", func(b *testing.B) {
		m := startPhase(b)
		writes.reset()
		for i := 0; i < b.N; i++ {
			generation++
			changes, inv, err := a.Apply(ctx, bigFleet(ns, 7, generation), inventory, fmt.Sprintf("main@sha1:%d", generation))
			require.NoError(b, err)
			require.Equal(b, []string{ns + "_cluster-0007_automation.dcn.ssu.ac.kr_Cluster"}, changes.IDs(Configured), changes.Summary())
			inventory = inv
		}
		m.report(b)
		require.EqualValues(b, b.N, writes.writes(), "client writes")
	})

	b.Run("no-op", func(b *testing.B) {
		m := startPhase(b)
		writes.reset()
		for i := 0; i < b.N; i++ {
			changes, inv, err := a.Apply(ctx, bigFleet(ns, 7, generation), inventory, fmt.Sprintf("main@sha1:%d", generation))
			require.NoError(b, err)
			require.False(b, changes.Changed(), changes.Summary())
			inventory = inv
		}
		m.report(b)
		require.Zero(b, writes.writes(), "client writes")
	})

	// A restarted controller's first pass: a new Applier has no memory of verified versions
	// and compares every object with the cache field by field.
	b.Run("no-op-new-applier", func(b *testing.B) {
		m := startPhase(b)
		writes.reset()
		for i := 0; i < b.N; i++ {
			fresh := New(c, cache, opts)
			changes, _, err := fresh.Apply(ctx, bigFleet(ns, 7, generation), inventory, fmt.Sprintf("main@sha1:%d", generation))
			require.NoError(b, err)
			require.False(b, changes.Changed(), changes.Summary())
		}
		m.report(b)
		require.Zero(b, writes.writes(), "client writes")
	})
}

// phase measures one sub-benchmark: API server request deltas and the peak RSS since start.
type phase struct {
	cpu     time.Duration
	before  apiRequests
	skipped apiRequests // requests made while the timer was stopped (setup)
}

func startPhase(b *testing.B) *phase {
	resetPeakRSS(b)
	return &phase{before: readAPIRequests(b), cpu: processCPU(b)}
}

func (p *phase) pause(b *testing.B) { p.skipped = p.skipped.sub(readAPIRequests(b)) }

func (p *phase) resume(b *testing.B) {
	r := readAPIRequests(b)
	p.skipped = apiRequests{Reads: p.skipped.Reads + r.Reads, Writes: p.skipped.Writes + r.Writes, DryRuns: p.skipped.DryRuns + r.DryRuns}
}

func (p *phase) report(b *testing.B) {
	seen := readAPIRequests(b).sub(p.before).sub(p.skipped)
	n := float64(b.N)
	b.ReportMetric(b.Elapsed().Seconds()/n, "s/op")
	// CPU seconds of this process (not the API server's): steadier than wall time on a busy machine.
	b.ReportMetric((processCPU(b)-p.cpu).Seconds()/n, "cpu-s/op")
	b.ReportMetric(float64(seen.Reads)/n, "reads/op")
	b.ReportMetric(float64(seen.Writes)/n, "writes/op")
	b.ReportMetric(float64(seen.DryRuns)/n, "dryruns/op")
	b.ReportMetric(peakRSSMiB(b), "peak-RSS-MiB")
	require.Zero(b, seen.DryRuns, "dry runs")
}

// emptyNamespace deletes the fleet's objects between first-apply iterations and waits until
// the cache has seen it, so each iteration starts from an empty namespace.
func emptyNamespace(b *testing.B, cache client.Reader, ns string) {
	ctx := context.Background()
	for _, obj := range []client.Object{
		&automationv1alpha1.InfrastructureProfile{}, &automationv1alpha1.ClusterCatalog{},
		&automationv1alpha1.Cluster{}, &intentv1.LogicalCluster{},
	} {
		require.NoError(b, env.Client.DeleteAllOf(ctx, obj, client.InNamespace(ns)))
	}
	require.Eventually(b, func() bool {
		var clusters automationv1alpha1.ClusterList
		var lcs intentv1.LogicalClusterList
		var profiles automationv1alpha1.InfrastructureProfileList
		return cache.List(ctx, &clusters, client.InNamespace(ns)) == nil && len(clusters.Items) == 0 &&
			cache.List(ctx, &lcs, client.InNamespace(ns)) == nil && len(lcs.Items) == 0 &&
			cache.List(ctx, &profiles, client.InNamespace(ns)) == nil && len(profiles.Items) == 0
	}, time.Minute, 20*time.Millisecond)
}

// resetPeakRSS restarts the kernel's peak-RSS (VmHWM) count, so each phase reports its own.
func resetPeakRSS(b *testing.B) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Logf("cannot reset peak RSS, it covers the whole run: %v", err)
	}
}

func peakRSSMiB(b *testing.B) float64 {
	status, err := os.ReadFile("/proc/self/status")
	require.NoError(b, err)
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			require.NoError(b, err)
			return float64(kb) / 1024
		}
	}
	b.Fatal("no VmHWM in /proc/self/status")
	return 0
}

func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	require.NoError(b, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
