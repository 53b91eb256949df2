package loader

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the CPU time the process has used (user + system). On a shared machine wall time
// per op varies with the load of other processes; CPU time per op much less.
func cpuTime() time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		return 0
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

// reportCPU adds a cpu-ms/op metric for the loop that started at start.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

// writeFleetTree writes a fleet of clusters in 10 logical clusters over 50 profiles, in the
// seed's shapes, one file per cluster.
func writeFleetTree(b *testing.B, root string, clusters int) {
	b.Helper()
	write := func(rel, text string) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	for i := range 50 {
		write(fmt.Sprintf("profiles/p%02d.yaml", i), fmt.Sprintf(profileHead+
			"metadata:\n  name: infra-%02d\n  type: Infrastructure\n  revision: 1.0.%d\nspec:\n  profile:\n    name: base\n    type: Infrastructure\n    revision: 1.0.0\n"+
			"    kubernetesVersion: v1.30.%d\n    controlPlaneMachineCount: 1\n    workerMachineCount: 3\n", i, i%3, i%10))
	}
	write("catalogs.yaml", "apiVersion: automation.dcn.ssu.ac.kr/v1alpha1\nkind: ClusterCatalog\nmetadata: {name: small}\nspec:\n  infrastructure:\n    spec:\n"+
		"      provider: {name: openstack, profile: {name: infra-00, type: Infrastructure, revision: 1.0.0}}\n"+
		"      network:\n        spec:\n          name: calico\n          profile: {name: calico, type: Network, revision: 1.0.0}\n")
	for lc := range 10 {
		text := lcHead + fmt.Sprintf("metadata:\n  name: lc-%d\n  labels: {tenant: starlab}\nspec:\n  clusters:\n", lc)
		for m := range clusters / 20 {
			text += fmt.Sprintf("    - cluster:\n        name: m-%d-%d\n        metadata:\n          labels: {automation.dcn.ssu.ac.kr/location: kr-seoul}\n          spec:\n            clustercatalog: small\n", lc, m)
		}
		write(fmt.Sprintf("logical/lc-%d.yaml", lc), text)
	}
	for i := range clusters / 2 {
		write(fmt.Sprintf("clusters/c%04d.yaml", i), fmt.Sprintf(clusterHead+
			"metadata:\n  name: cluster-%04d\n  tenant: starlab\n  labels:\n    automation.dcn.ssu.ac.kr/region: kr-seoul\nspec:\n  infrastructure:\n    spec:\n"+
			"      provider: openstack\n      profile: {name: infra-%02d, type: Infrastructure, revision: 1.0.%d}\n      override:\n        kubernetesVersion: v1.30.2\n"+
			"  network:\n    spec:\n      name: calico\n      profile: {name: calico, type: Network, revision: 1.0.0}\n"+
			"  software:\n    - name: prometheus\n      profile: prometheus-default\n      type: ApplicationTemplate\n      revision: 1.0.0\n", i, i%50, (i%50)%3))
	}
}

// BenchmarkLoad loads a generated tree of 1,000 clusters: 500 Cluster files and 10
// LogicalClusters of 50 members, over 50 profiles.
func BenchmarkLoad(b *testing.B) {
	root := b.TempDir()
	writeFleetTree(b, root, 1000)
	b.ReportAllocs()
	start := cpuTime()
	defer reportCPU(b, start)
	for b.Loop() {
		set, err := LoadDir(root, Options{FleetNamespace: "starlab"})
		if err != nil {
			b.Fatal(err)
		}
		if n := len(set.Clusters); n != 500 {
			b.Fatalf("%d clusters", n)
		}
	}
}

// BenchmarkLoadInMemory is BenchmarkLoad without the file system: parsing, normalizing and
// validating only.
func BenchmarkLoadInMemory(b *testing.B) {
	root := b.TempDir()
	writeFleetTree(b, root, 1000)
	files := readTree(b, root)
	b.ReportAllocs()
	start := cpuTime()
	defer reportCPU(b, start)
	for b.Loop() {
		if _, err := Load(files, Options{FleetNamespace: "starlab"}); err != nil {
			b.Fatal(err)
		}
	}
}
