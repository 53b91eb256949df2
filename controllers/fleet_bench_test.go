package controllers_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/internal/plane"
)

// bigFleet is a tenant repository of clusters Cluster documents over 50 profiles and 10
// catalogs, plus 10 logical clusters of 5 members; version and workers of one cluster vary.
func bigFleet(clusters int, changed string) map[string]string {
	var p, c, cl, lc strings.Builder
	for i := 0; i < 50; i++ {
		fmt.Fprintf(&p, "---\napiVersion: automation.dcn.ssu.ac.kr/v1alpha1\nkind: InfrastructureProfile\nmetadata: {name: infra-%d, type: Infrastructure, revision: 1.0.0}\nspec:\n  template: {path: templates/t.yaml}\n  kubernetesVersion: v1.34.%d\n  controlPlaneMachineCount: 1\n  workerMachineCount: 2\n", i, i%5)
	}
	for i := 0; i < 10; i++ {
		fmt.Fprintf(&c, "---\napiVersion: automation.dcn.ssu.ac.kr/v1alpha1\nkind: ClusterCatalog\nmetadata: {name: catalog-%d}\nspec:\n  infrastructure: {provider: docker, profile: {name: infra-%d, type: Infrastructure, revision: 1.0.0}}\n", i, i)
	}
	for i := 0; i < clusters; i++ {
		override := ""
		if name := fmt.Sprintf("site-%d", i); name == changed {
			override = "\n  override: {workerMachineCount: 5}"
		}
		fmt.Fprintf(&cl, "---\napiVersion: automation.dcn.ssu.ac.kr/v1alpha1\nkind: Cluster\nmetadata: {name: site-%d, labels: {automation.dcn.ssu.ac.kr/region: r-%d}}\nspec:\n  clusterCatalog: catalog-%d%s\n", i, i%7, i%10, override)
	}
	for l := 0; l < 10; l++ {
		fmt.Fprintf(&lc, "---\napiVersion: intent.automation.dcn.ssu.ac.kr/v1\nkind: LogicalCluster\nmetadata: {name: lc-%d}\nspec:\n  clusters:\n", l)
		for m := 0; m < 5; m++ {
			fmt.Fprintf(&lc, "    - {name: lc-%d-m-%d, clusterCatalog: catalog-%d}\n", l, m, m)
		}
	}
	return map[string]string{"profiles.yaml": p.String(), "catalogs.yaml": c.String(),
		"clusters.yaml": cl.String(), "logical.yaml": lc.String(), "templates/t.yaml": "# unused\n"}
}

// requestCounts are the API server's request counters, split by who writes: the Fleet
// controller applies L-KaaS objects (server-side apply) and patches the Fleet's status; the
// Cluster controller patches Clusters (finalizers, annotations) and their status, and applies
// CAPI objects; the rest are the test's own and events.
type requestCounts struct {
	reads, objectWrites, fleetWrites, clusterWrites, clusterStatusWrites, capiWrites, otherWrites, dryRuns float64
}

// apiSamples reads the API server's request counters.
func apiSamples(tb testing.TB) []plane.APIRequest {
	tb.Helper()
	samples, err := env.APIRequests()
	if err != nil {
		tb.Fatal(err)
	}
	return samples
}

func scrapeRequests(b *testing.B) requestCounts {
	b.Helper()
	var c requestCounts
	for _, q := range apiSamples(b) {
		switch {
		case q.Resource == "leases":
			// The API server's own identity lease, renewed every ~10 s, is not ours.
		case q.DryRun:
			c.dryRuns += q.Count
		case q.Verb == "WATCH":
		case q.Read():
			c.reads += q.Count
		case q.Resource == "fleets" && q.Subresource == "status":
			c.fleetWrites += q.Count
		case lkaasGroups[q.Group] && q.Verb == "APPLY" && q.Subresource == "":
			c.objectWrites += q.Count
		case q.Group == automationv1alpha1.GroupVersion.Group && q.Resource == "clusters" && q.Subresource == "status":
			c.clusterStatusWrites += q.Count
		case q.Group == automationv1alpha1.GroupVersion.Group && q.Resource == "clusters":
			c.clusterWrites += q.Count
		case strings.HasSuffix(q.Group, "cluster.x-k8s.io"):
			c.capiWrites += q.Count
		default:
			c.otherWrites += q.Count
		}
	}
	return c
}

var lkaasGroups = map[string]bool{automationv1alpha1.GroupVersion.Group: true, "intent.automation.dcn.ssu.ac.kr": true}

func (c requestCounts) minus(o requestCounts) requestCounts {
	return requestCounts{reads: c.reads - o.reads, objectWrites: c.objectWrites - o.objectWrites, fleetWrites: c.fleetWrites - o.fleetWrites,
		clusterWrites: c.clusterWrites - o.clusterWrites, clusterStatusWrites: c.clusterStatusWrites - o.clusterStatusWrites,
		capiWrites: c.capiWrites - o.capiWrites, otherWrites: c.otherWrites - o.otherWrites, dryRuns: c.dryRuns - o.dryRuns}
}

// waitIdle waits until every controller of the manager is idle: no work queued, no worker
// busy, for a second in a row. A phase measured before that counts the previous phase's
// follow-up work (the Cluster controller still climbing the ladder of a first apply).
func waitIdle(b *testing.B, limit time.Duration) time.Duration {
	b.Helper()
	start := time.Now()
	quiet := 0
	for quiet < 5 {
		if time.Since(start) > limit {
			b.Fatalf("the controllers were not idle within %s", limit)
		}
		time.Sleep(200 * time.Millisecond)
		if busy(b) {
			quiet = 0
			continue
		}
		quiet++
	}
	return time.Since(start)
}

// busy says whether any controller has queued work or a busy worker.
func busy(b *testing.B) bool {
	families, err := metrics.Registry.Gather()
	if err != nil {
		b.Fatal(err)
	}
	for _, fam := range families {
		switch fam.GetName() {
		case "workqueue_depth", "controller_runtime_active_workers":
			for _, m := range fam.GetMetric() {
				if m.GetGauge().GetValue() > 0 {
					return true
				}
			}
		}
	}
	return false
}

func peakRSSMiB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// reconcilePasses reads the count and total seconds of the Fleet reconciles of a namespace
// from the controller's lkaas_fleet_reconcile_duration_seconds histogram.
func reconcilePasses(b *testing.B, ns string) (count, seconds float64) {
	b.Helper()
	families, err := metrics.Registry.Gather()
	if err != nil {
		b.Fatal(err)
	}
	for _, fam := range families {
		if fam.GetName() != "lkaas_fleet_reconcile_duration_seconds" {
			continue
		}
		for _, m := range fam.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "namespace" && l.GetValue() == ns {
					count += float64(m.GetHistogram().GetSampleCount())
					seconds += m.GetHistogram().GetSampleSum()
				}
			}
		}
	}
	return count, seconds
}

func setInterval(b *testing.B, f *automationv1alpha1.Fleet, d time.Duration) {
	b.Helper()
	cur := fleetState(b, f)
	p := client.MergeFrom(cur.DeepCopy())
	cur.Spec.Interval.Duration = d
	if err := env.Client.Patch(context.Background(), cur, p); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkFleet1000Clusters measures whole Fleet passes with the controller running against
// the real API server: the first apply of a 1,000-cluster artifact, a commit that changes one
// cluster, and a no-op pass (a reconcile request on the same revision). Writes are split into
// L-KaaS objects, the Fleet's status, and others (the test's GitRepository update and
// reconcile request, the Fleet's finalizer, events); the targets concern the first
// two. Set LKAAS_AUDIT_LOG=/path/audit.log to see every request in the API server's audit log.
func BenchmarkFleet1000Clusters(b *testing.B) {
	for i := 0; i < b.N; i++ {
		ns := env.Namespace(b)
		r := newRepo(b, ns, "big")
		f := newFleet(b, r)

		phase := func(name string, act func() string, done func(*automationv1alpha1.Fleet, string) bool) {
			settled := waitIdle(b, 10*time.Minute)
			before := scrapeRequests(b)
			start := time.Now()
			want := act()
			for {
				if done(fleetState(b, f), want) {
					break
				}
				if time.Since(start) > 5*time.Minute {
					b.Fatalf("%s did not finish: %+v", name, fleetState(b, f).Status.Conditions)
				}
				time.Sleep(10 * time.Millisecond)
			}
			took := time.Since(start)
			// What the phase started, the Cluster controller's share included, is counted
			// once every controller is idle again.
			tail := waitIdle(b, 10*time.Minute)
			d := scrapeRequests(b).minus(before)
			b.ReportMetric(took.Seconds(), name+"-s")
			b.ReportMetric(d.reads, name+"-reads")
			b.ReportMetric(d.objectWrites, name+"-object-writes")
			b.ReportMetric(d.fleetWrites, name+"-fleet-status-writes")
			b.ReportMetric(d.dryRuns, name+"-dry-runs")
			b.ReportMetric(d.clusterStatusWrites, name+"-cluster-status-writes")
			b.Logf("%-15s Fleet %6.2fs (settled %.0fs before; all idle %.0fs after)  reads %4.0f  Fleet: object applies %5.0f, status %3.0f;  Cluster controller: cluster writes %4.0f, status %4.0f, CAPI writes %5.0f;  other %3.0f  dry-runs %.0f",
				name, took.Seconds(), settled.Seconds(), tail.Seconds(), d.reads, d.objectWrites, d.fleetWrites, d.clusterWrites, d.clusterStatusWrites, d.capiWrites, d.otherWrites, d.dryRuns)
		}
		applied := func(f *automationv1alpha1.Fleet, rev string) bool {
			return f.Status.LastAppliedRevision == rev
		}

		phase("first-apply", func() string { return r.push(b, bigFleet(1000, "")) }, applied)
		phase("one-change", func() string { return r.push(b, bigFleet(1000, "site-500")) }, applied)
		changed := &automationv1alpha1.Cluster{}
		if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "site-500"}, changed); err != nil {
			b.Fatal(err)
		}
		if changed.Spec.Override == nil || !strings.Contains(string(changed.Spec.Override.Raw), `"workerMachineCount":5`) {
			b.Fatalf("the one-cluster change was not applied: %+v", changed.Spec)
		}
		passes, _ := reconcilePasses(b, ns)
		phase("requested-no-op", func() string {
			cur := fleetState(b, f)
			p := client.MergeFrom(cur.DeepCopy())
			token := time.Now().Format(time.RFC3339Nano)
			if cur.Annotations == nil {
				cur.Annotations = map[string]string{}
			}
			cur.Annotations[meta.ReconcileRequestAnnotation] = token
			if err := env.Client.Patch(context.Background(), cur, p); err != nil {
				b.Fatal(err)
			}
			return token
		}, func(f *automationv1alpha1.Fleet, token string) bool { return f.Status.LastHandledReconcileAt == token })
		time.Sleep(time.Second)
		after, _ := reconcilePasses(b, ns)
		b.Logf("the reconcile request caused %.0f pass(es)", after-passes)

		// The periodic pass that corrects drift: nothing changed, so nothing may be written.
		setInterval(b, f, time.Second)
		time.Sleep(2 * time.Second)
		waitIdle(b, 10*time.Minute)
		before := scrapeRequests(b)
		passes, seconds := reconcilePasses(b, ns)
		time.Sleep(5 * time.Second)
		d := scrapeRequests(b).minus(before)
		passes2, seconds2 := reconcilePasses(b, ns)
		n := passes2 - passes
		if n < 3 {
			b.Fatalf("only %.0f periodic passes in 5s", n)
		}
		b.ReportMetric((seconds2-seconds)/n, "periodic-no-op-s")
		b.ReportMetric(d.objectWrites/n, "periodic-no-op-object-writes")
		b.ReportMetric(d.fleetWrites/n, "periodic-no-op-fleet-status-writes")
		b.ReportMetric(d.dryRuns/n, "periodic-no-op-dry-runs")
		b.ReportMetric(d.reads/n, "periodic-no-op-reads")
		b.Logf("%-15s %6.3fs per pass over %.0f passes  reads %.1f  Fleet: object applies %.0f, status %.0f;  Cluster controller: cluster writes %.0f, status %.0f, CAPI writes %.0f;  dry-runs %.0f",
			"periodic-no-op", (seconds2-seconds)/n, n, d.reads/n, d.objectWrites, d.fleetWrites, d.clusterWrites, d.clusterStatusWrites, d.capiWrites, d.dryRuns)
		b.ReportMetric(peakRSSMiB(), "peak-RSS-MiB")
	}
}
