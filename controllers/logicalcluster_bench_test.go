package controllers_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"

	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
)

// BenchmarkLogicalCluster100MemberUpgrade rolls one version bump across a 100-member logical
// cluster in ten waves of ten, maxUnavailable 10% (a whole wave at once), with the simulated
// status driver finishing each permitted member 100ms after its permit. It reports the time
// of each wave (first permit to last done), the time from a wave's last done member to the
// next wave's first permit, the whole rollout, and the most members in flight.
func BenchmarkLogicalCluster100MemberUpgrade(b *testing.B) {
	const members, perWave, delay = 100, 10, 100 * time.Millisecond
	for i := 0; i < b.N; i++ {
		e := startRolloutEnv(b)
		ns := e.Namespace(b)
		driver := startStatusDriver(b, e, ns, delay)
		lc := &intentv1.LogicalCluster{}
		lc.Namespace, lc.Name = ns, "big"
		maxUnavailable := intstr.FromString("10%")
		lc.Spec.Rollout = &intentv1.Rollout{MaxUnavailable: &maxUnavailable}
		for m := 0; m < members; m++ {
			lc.Spec.Clusters = append(lc.Spec.Clusters, intentv1.MemberCluster{
				Name: fmt.Sprintf("site-%03d", m), ClusterCatalog: "small", Wave: int32(m / perWave),
			})
		}
		start := time.Now()
		if err := e.Client.Create(context.Background(), lc); err != nil {
			b.Fatal(err)
		}
		waitLogicalCluster(b, e, lc, "became Ready", allReady)
		b.ReportMetric(time.Since(start).Seconds(), "create-s")

		start = time.Now()
		setVersion(b, e, lc, "v1.35.0")
		waitLogicalCluster(b, e, lc, "rolled out v1.35.0", func(got *intentv1.LogicalCluster) bool {
			return allReady(got) && got.Status.Members[members-1].KubernetesVersion == "v1.35.0"
		})
		total := time.Since(start)
		b.ReportMetric(total.Seconds(), "rollout-s")

		permits, maxInFlight := driver.observed()
		if len(permits) != members {
			b.Fatalf("%d permits for %d members", len(permits), members)
		}
		b.ReportMetric(float64(maxInFlight), "max-in-flight")
		var prevDone time.Time
		var sum, gaps time.Duration
		for w := 0; w < members/perWave; w++ {
			var first, last time.Time
			for m := w * perWave; m < (w+1)*perWave; m++ {
				permitted, done := driver.times(fmt.Sprintf("site-%03d", m))
				if first.IsZero() || permitted.Before(first) {
					first = permitted
				}
				if done.After(last) {
					last = done
				}
			}
			if first.Before(prevDone) {
				b.Fatalf("wave %d started before wave %d was done", w, w-1)
			}
			if w == 0 {
				b.ReportMetric(first.Sub(start).Seconds(), "first-permit-s")
			} else {
				gaps += first.Sub(prevDone)
			}
			prevDone = last
			sum += last.Sub(first)
			b.Logf("wave %d: %v", w, last.Sub(first).Round(time.Millisecond))
		}
		b.ReportMetric(sum.Seconds()/float64(members/perWave), "s/wave")
		b.ReportMetric(gaps.Seconds()/float64(members/perWave-1), "s-between-waves")
		b.Logf("total %v, max in flight %d", total.Round(time.Millisecond), maxInFlight)
	}
}
