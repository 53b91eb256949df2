package fleetrepo

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// writeFleet writes a fleet of clusters in logicalClusters logical clusters over profiles
// profiles (a third each Infrastructure, Network, Software), in the seed's shapes, with the
// CAPD in-memory template of the examples.
func writeFleet(tb testing.TB, dir string, clusters, logicalClusters, profiles int) {
	tb.Helper()
	template, err := os.ReadFile("../../gitops-examples/fleet-repo/templates/docker-inmemory/cluster-template.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	files := map[string]string{"templates/in-memory.yaml": string(template)}
	var p strings.Builder
	p.WriteString(`apiVersion: automation.dcn.ssu.ac.kr/v1alpha1
kind: InfrastructureProfile
metadata: {name: base, type: Infrastructure, namespace: default, revision: 1.0.0}
spec:
  template: {path: templates/in-memory.yaml}
`)
	perType := profiles / 3
	for i := 0; i < perType; i++ {
		fmt.Fprintf(&p, `---
apiVersion: automation.dcn.ssu.ac.kr/v1alpha1
kind: InfrastructureProfile
metadata: {name: infra-%d, type: Infrastructure, namespace: default, revision: 1.0.0}
spec:
  profile: {name: base, type: Infrastructure, revision: 1.0.0, kubernetesVersion: v1.34.%d, controlPlaneMachineCount: 1, workerMachineCount: %d}
---
apiVersion: automation.dcn.ssu.ac.kr/v1alpha1
kind: InfrastructureProfile
metadata: {name: net-%d, type: Network, namespace: default, revision: 1.0.0}
spec: {cni: calico, podCIDR: ["10.%d.0.0/16"], serviceCIDR: ["10.200.0.0/16"]}
---
apiVersion: automation.dcn.ssu.ac.kr/v1alpha1
kind: InfrastructureProfile
metadata: {name: sw-%d, type: Software, namespace: default, revision: 1.0.0}
spec:
  chart: {repoURL: "https://charts.example.invalid", name: app-%d, version: 1.0.0}
`, i, i%5, 1+i%3, i, i%200, i, i)
	}
	files["profiles.yaml"] = p.String()

	var c strings.Builder
	for i := 0; i < perType; i++ {
		if i > 0 {
			c.WriteString("---\n")
		}
		fmt.Fprintf(&c, `apiVersion: automation.dcn.ssu.ac.kr/v1alpha1
kind: ClusterCatalog
metadata: {name: catalog-%d, namespace: fleet}
spec:
  infrastructure: {provider: docker, profile: {name: infra-%d, type: Infrastructure, revision: 1.0.0}}
  network: {name: cni, profile: {name: net-%d, type: Network, revision: 1.0.0}}
  software:
    - {name: app, profile: {name: sw-%d, type: Software, revision: 1.0.0}}
`, i, i, i, i)
	}
	files["catalogs.yaml"] = c.String()

	perLC := clusters / logicalClusters
	for l := 0; l < logicalClusters; l++ {
		var b strings.Builder
		fmt.Fprintf(&b, "apiVersion: intent.automation.dcn.ssu.ac.kr/v1\nkind: LogicalCluster\nmetadata: {name: lc-%d, namespace: fleet}\nspec:\n  clusters:\n", l)
		for m := 0; m < perLC; m++ {
			fmt.Fprintf(&b, "    - cluster: {name: lc-%d-site-%d, metadata: {labels: {automation.dcn.ssu.ac.kr/location: site-%d}}, spec: {clustercatalog: catalog-%d, wave: %d}}\n",
				l, m, m, (l*perLC+m)%perType, m%3)
		}
		files[fmt.Sprintf("logical/lc-%d.yaml", l)] = b.String()
	}
	for name, body := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

// cpuSeconds is the CPU time (user and system) the process has used: on a shared machine it
// says what a build costs better than the wall clock does.
func cpuSeconds() float64 {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		return 0
	}
	return float64(u.Utime.Nano()+u.Stime.Nano()) / 1e9
}

// peakRSSMiB is the process's peak resident set size (VmHWM).
func peakRSSMiB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// BenchmarkBuild1000Clusters is the whole pure pipeline on a fleet of 1,000 clusters in 10
// logical clusters over 50 profiles: load, resolve and render every cluster. Run it on one
// core (make bench does: -cpu 1) for the target of < 1 s and < 300 MiB.
func BenchmarkBuild1000Clusters(b *testing.B) { benchmarkBuild(b, 1000, 10) }

// BenchmarkBuild10000Clusters is the same pipeline on a sharded fleet's repository ten times
// as large (100 logical clusters of 100 members, 50 profiles); issue 19's target is ≤ 2 s and
// < 512 MiB peak RSS on one core.
func BenchmarkBuild10000Clusters(b *testing.B) { benchmarkBuild(b, 10000, 100) }

func benchmarkBuild(b *testing.B, clusters, logicalClusters int) {
	dir := b.TempDir()
	writeFleet(b, dir, clusters, logicalClusters, 50)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuSeconds()
	for i := 0; i < b.N; i++ {
		build, err := BuildDir(context.Background(), dir, Options{Render: true})
		if err != nil {
			b.Fatal(err)
		}
		if len(build.Rendered) != clusters {
			b.Fatalf("rendered %d clusters", len(build.Rendered))
		}
	}
	b.StopTimer()
	b.ReportMetric((cpuSeconds()-cpu)/float64(b.N), "cpu-s/op")
	b.ReportMetric(peakRSSMiB(), "peak-RSS-MiB")
}

// BenchmarkBuildOneClusterOf1000 is a one-cluster change: the same fleet, loaded and resolved,
// with only that cluster rendered (what the Cluster controller does for a changed cluster).
func BenchmarkBuildOneClusterOf1000(b *testing.B) {
	dir := b.TempDir()
	writeFleet(b, dir, 1000, 10, 50)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		build, err := BuildDir(context.Background(), dir, Options{Render: true, Only: []string{"fleet/lc-3-site-42"}})
		if err != nil {
			b.Fatal(err)
		}
		if len(build.Rendered) != 1 {
			b.Fatalf("rendered %d clusters", len(build.Rendered))
		}
	}
}

// The generated fleet is valid, so the benchmarks measure the happy path.
func TestGeneratedFleetIsValid(t *testing.T) {
	dir := t.TempDir()
	writeFleet(t, dir, 40, 4, 9)
	b, err := BuildDir(context.Background(), dir, Options{Render: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Rendered) != 40 {
		t.Fatalf("rendered %d clusters, want 40", len(b.Rendered))
	}
}

// BenchmarkModelOneClusterChange is a one-cluster change (a member moves to another catalog)
// built by a Model that holds the previous revision, in fleets of 100, 1,000 and 10,000
// clusters (logical clusters of 100 members, 50 profiles). Its cost should not grow with
// the fleet: only the changed file is parsed, its 100 members resolved, one cluster rendered.
func BenchmarkModelOneClusterChange(b *testing.B) {
	for _, clusters := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("clusters=%d", clusters), func(b *testing.B) {
			dir := b.TempDir()
			writeFleet(b, dir, clusters, clusters/100, 50)
			model := NewModel(Options{Render: true})
			if _, err := model.BuildDir(context.Background(), dir); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			var cpu float64
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				editFile(b, dir, "logical/lc-0.yaml", memberCatalog("lc-0-site-42", 1+i%2))
				start := cpuSeconds()
				b.StartTimer()
				build, err := model.BuildDir(context.Background(), dir)
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				cpu += cpuSeconds() - start
				if s := model.Stats; !s.Incremental || s.ClustersRendered != 1 || len(build.Rendered) != clusters {
					b.Fatalf("not a one-cluster change: %+v, %d rendered in all", s, len(build.Rendered))
				}
				b.StartTimer()
			}
			b.ReportMetric(cpu/float64(b.N)*1000, "cpu-ms/op")
		})
	}
}
