package render

import (
	"testing"

	"github.com/dcn-ssu/lkaas/internal/resolve"
)

// BenchmarkRender renders 1,000 generated CAPD in-memory clusters with one Renderer (the
// template is parsed once, the shared add-on built once), as the controller does before a
// server-side apply. One op is all 1,000 clusters; ns/cluster is the per-cluster cost.
func BenchmarkRender(b *testing.B) { benchmarkRender(b, false) }

// BenchmarkRenderYAML adds writing each cluster as YAML, as `lkaas render` does.
func BenchmarkRenderYAML(b *testing.B) { benchmarkRender(b, true) }

func benchmarkRender(b *testing.B, yaml bool) {
	const clusters = 1000
	plans := make([]*resolve.Plan, clusters)
	for i := range plans {
		plans[i] = inMemoryPlan(i)
	}
	root := repoRoot(b)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r := NewRenderer(Options{Root: root})
		for _, p := range plans {
			res, err := r.Render(p)
			if err != nil {
				b.Fatal(err)
			}
			if yaml {
				if _, err := res.YAML(); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*clusters), "ns/cluster")
}
