package controllers_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/internal/plane"
	"github.com/dcn-ssu/lkaas/internal/render"
)

// The kustomize-controller the chain benchmark runs beside L-KaaS (hack/tools.sh builds it).
const (
	kustomizeControllerModule  = "github.com/fluxcd/kustomize-controller"
	kustomizeControllerVersion = "v1.9.6"
)

// chainKinds are the CAPI kinds the in-memory template renders: seven objects per cluster.
var chainKinds = []schema.GroupVersionKind{
	{Group: "cluster.x-k8s.io", Version: "v1beta2", Kind: "Cluster"},
	{Group: "infrastructure.cluster.x-k8s.io", Version: "v1beta2", Kind: "DevCluster"},
	{Group: "controlplane.cluster.x-k8s.io", Version: "v1beta2", Kind: "KubeadmControlPlane"},
	{Group: "infrastructure.cluster.x-k8s.io", Version: "v1beta2", Kind: "DevMachineTemplate"},
	{Group: "bootstrap.cluster.x-k8s.io", Version: "v1beta2", Kind: "KubeadmConfigTemplate"},
	{Group: "cluster.x-k8s.io", Version: "v1beta2", Kind: "MachineDeployment"},
}

// chainPhase is what one controller did in one phase, counted by the API server.
type chainPhase struct {
	seconds             float64
	writes, dryRuns     float64
	reads               float64
	capiWrites          float64
	clusterStatusWrites float64
	// by is the API server's split by writer (requestCounts), the test's own requests included.
	by requestCounts
}

// countingTransport counts the test's own requests, so that its polling is not charged to a
// controller.
type countingTransport struct {
	next                  http.RoundTripper
	reads, other, watches atomic.Int64
}

func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	switch {
	case req.Method == http.MethodGet && strings.Contains(req.URL.RawQuery, "watch=true"):
		t.watches.Add(1) // the test's own informer; not a read or a write
	case req.Method == http.MethodGet:
		t.reads.Add(1)
	default:
		t.other.Add(1)
	}
	return t.next.RoundTrip(req)
}

// BenchmarkChain1000Clusters takes a 1,000-cluster Fleet artifact (10 logical clusters of 5,
// 50 profiles, the CAPD in-memory template) through the real Fleet and Cluster controllers to
// every CAPI object applied, then a commit that changes one cluster, then a requested no-op
// pass; then, on the same API server, Flux kustomize-controller applies the same rendered
// objects (dumped from what L-KaaS applied, into a namespace of their own) from an artifact
// served the way source-controller serves it, through the same three phases. Every phase
// starts with every L-KaaS controller idle; the API server's counters are read before and
// after, less the test's own requests. L-KaaS runs in the test process: its peak RSS is the
// test process's, harness included. LKAAS_BENCH_CLUSTERS sets a smaller fleet for a trial.
// `make bench-chain` runs it; it is not part of `make test`.
func BenchmarkChain1000Clusters(b *testing.B) {
	if os.Getenv("LKAAS_BENCH_CHAIN") == "" {
		b.Skip("the chain benchmark runs with `make bench-chain` (LKAAS_BENCH_CHAIN=1): it takes minutes and kustomize-controller")
	}
	kcPath, err := plane.BuiltToolPath("kustomize-controller")
	if err != nil {
		b.Fatalf("%v (make bench-chain builds it)", err)
	}
	n := benchClusters()
	changed := fmt.Sprintf("site-%d", n/2)
	tmpl, err := os.ReadFile("../gitops-examples/fleet-repo/templates/docker-inmemory/cluster-template.yaml")
	if err != nil {
		b.Fatal(err)
	}
	counter := &countingTransport{}
	cfg := rest.CopyConfig(env.Config)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { counter.next = rt; return counter })
	tc, err := client.New(cfg, client.Options{Scheme: env.Client.Scheme()})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()

	for i := 0; i < b.N; i++ {
		// measure runs act, waits for done, then until every L-KaaS controller is idle, and
		// returns the API server's counts less the test's own requests.
		measure := func(name string, act func(), done func() bool) chainPhase {
			waitIdle(b, 10*time.Minute)
			before, reads0, other0 := scrapeRequests(b), counter.reads.Load(), counter.other.Load()
			start := time.Now()
			act()
			for !done() {
				if time.Since(start) > 30*time.Minute {
					b.Fatalf("%s did not finish", name)
				}
				time.Sleep(20 * time.Millisecond)
			}
			took := time.Since(start)
			waitIdle(b, 10*time.Minute)
			d := scrapeRequests(b).minus(before)
			own := float64(counter.other.Load() - other0)
			return chainPhase{seconds: took.Seconds(),
				writes:  d.objectWrites + d.fleetWrites + d.clusterWrites + d.clusterStatusWrites + d.capiWrites + d.otherWrites - own,
				dryRuns: d.dryRuns, reads: d.reads - float64(counter.reads.Load()-reads0),
				capiWrites: d.capiWrites, clusterStatusWrites: d.clusterStatusWrites, by: d}
		}

		// L-KaaS: the Fleet renders and applies the Clusters, the Cluster controller their CAPI objects.
		ns := env.Namespace(b)
		r := newRepo(b, ns, "chain")
		f := newFleet(b, r)
		var lk [3]chainPhase
		// push reads and writes the GitRepository through the suite's client: the test's own.
		push := func(r *repo, files map[string]string) string {
			counter.reads.Add(1)
			counter.other.Add(1)
			return r.push(b, files)
		}
		lk[0] = measure("lkaas-first-apply", func() { push(r, bigFleetWithTemplate(n, "", string(tmpl))) },
			everyClusterApplied(b, watchClusters(b, cfg, ns), ns, n+50))
		objectsBefore := dumpRendered(b, tc, ns)
		if got := countObjects(objectsBefore); got != 7*(n+50) {
			b.Fatalf("L-KaaS applied %d CAPI objects, want %d", got, 7*(n+50))
		}
		lkRSSFirst := peakRSSMiB()

		key := client.ObjectKey{Namespace: ns, Name: changed}
		prev := &automationv1alpha1.Cluster{}
		if err := tc.Get(ctx, key, prev); err != nil {
			b.Fatal(err)
		}
		lk[1] = measure("lkaas-one-change", func() { push(r, bigFleetWithTemplate(n, changed, string(tmpl))) }, func() bool {
			c := &automationv1alpha1.Cluster{}
			if err := tc.Get(ctx, key, c); err != nil {
				b.Fatal(err)
			}
			return c.Status.AppliedRenderHash != prev.Status.AppliedRenderHash && c.Status.AppliedRenderHash == c.Status.RenderHash
		})
		objectsAfter := dumpRendered(b, tc, ns)
		changedClusters := diffClusters(objectsBefore, objectsAfter)
		if len(changedClusters) != 1 || changedClusters[0] != changed {
			b.Fatalf("the one-cluster change changed the objects of %v", changedClusters)
		}

		var token string
		lk[2] = measure("lkaas-no-op", func() { token = requestReconcile(b, tc, f) }, func() bool {
			got := &automationv1alpha1.Fleet{}
			if err := tc.Get(ctx, client.ObjectKeyFromObject(f), got); err != nil {
				b.Fatal(err)
			}
			return got.Status.LastHandledReconcileAt == token
		})
		lkRSS := peakRSSMiB()

		// kustomize-controller: the same objects, from an artifact, into a namespace of its own.
		kns := env.Namespace(b)
		kc, stop := startKustomizeController(b, kcPath)
		kr := newRepo(b, kns, "rendered")
		var kcp [3]chainPhase
		revBefore := ""
		kcp[0] = measure("kustomize-first-apply", func() {
			revBefore = push(kr, renderedFiles(objectsBefore, kns))
			createKustomization(b, tc, kns, kr.Name)
		}, kustomizationHandled(b, tc, kns, func(u *unstructured.Unstructured) bool { return appliedRevision(u) == revBefore }))
		revAfter := ""
		kcp[1] = measure("kustomize-one-change", func() { revAfter = push(kr, renderedFiles(objectsAfter, kns)) },
			kustomizationHandled(b, tc, kns, func(u *unstructured.Unstructured) bool { return appliedRevision(u) == revAfter }))
		kcp[2] = measure("kustomize-no-op", func() { token = requestKustomization(b, tc, kns) },
			kustomizationHandled(b, tc, kns, func(u *unstructured.Unstructured) bool {
				got, _, _ := unstructured.NestedString(u.Object, "status", "lastHandledReconcileAt")
				return got == token
			}))
		kcRSS := float64(processPeakRSS(kc.PID())) / (1 << 20)
		if got := countKustomized(b, tc, kns); got != 7*(n+50) {
			b.Fatalf("kustomize-controller applied %d CAPI objects, want %d", got, 7*(n+50))
		}
		stop()

		names := []string{"first-apply", "one-change", "no-op"}
		b.Logf("chain at %d clusters (+50 logical-cluster members, %d CAPI objects); L-KaaS in the test process (peak RSS %.0f MiB after first apply), kustomize-controller %s as a process",
			n, 7*(n+50), lkRSSFirst, kustomizeControllerVersion)
		b.Logf("%-12s | %-15s | %8s | %7s | %8s | %7s | %9s", "phase", "controller", "wall s", "writes", "dry-runs", "reads", "peak RSS")
		for p, name := range names {
			b.Logf("%-12s | %-15s | %8.2f | %7.0f | %8.0f | %7.0f | %6.0f MiB", name, "L-KaaS", lk[p].seconds, lk[p].writes, lk[p].dryRuns, lk[p].reads, lkRSS)
			b.Logf("%-12s | %-15s | %8.2f | %7.0f | %8.0f | %7.0f | %6.0f MiB", name, "kustomize-ctrl", kcp[p].seconds, kcp[p].writes, kcp[p].dryRuns, kcp[p].reads, kcRSS)
			b.Logf("%-12s | %-15s | %8.2f | %7s | %8s | %7s |", name, "ratio L/K", lk[p].seconds/kcp[p].seconds, ratio(lk[p].writes, kcp[p].writes), ratio(lk[p].dryRuns, kcp[p].dryRuns), ratio(lk[p].reads, kcp[p].reads))
			b.ReportMetric(lk[p].seconds, "lkaas-"+name+"-s")
			b.ReportMetric(kcp[p].seconds, "kustomize-"+name+"-s")
			b.ReportMetric(lk[p].writes, "lkaas-"+name+"-writes")
			b.ReportMetric(kcp[p].writes, "kustomize-"+name+"-writes")
		}
		for p, name := range names {
			d := lk[p].by
			b.Logf("L-KaaS %-11s writes by kind: Fleet object applies %.0f, Fleet status %.0f, Cluster writes %.0f, Cluster status %.0f, CAPI %.0f, other (events, the test's own) %.0f",
				name, d.objectWrites, d.fleetWrites, d.clusterWrites, d.clusterStatusWrites, d.capiWrites, d.otherWrites)
		}
		b.Logf("L-KaaS first apply: %.2f Cluster status writes per cluster; one change: objects of %v changed",
			lk[0].clusterStatusWrites/float64(n+50), changedClusters)
		b.ReportMetric(lkRSS, "lkaas-peak-RSS-MiB")
		b.ReportMetric(kcRSS, "kustomize-peak-RSS-MiB")
		b.ReportMetric(lk[0].clusterStatusWrites/float64(n+50), "cluster-status-writes-per-cluster")
	}
}

func ratio(a, b float64) string {
	if b == 0 {
		if a == 0 {
			return "0/0"
		}
		return "inf"
	}
	return strconv.FormatFloat(a/b, 'f', 2, 64)
}

// bigFleetWithTemplate is bigFleet with a real template for every infrastructure profile.
func bigFleetWithTemplate(clusters int, changed, template string) map[string]string {
	files := bigFleet(clusters, changed)
	files["templates/t.yaml"] = template
	return files
}

// everyClusterApplied: every L-KaaS Cluster of the namespace has applied its render, read
// from the test's own informer (one watch, where listing 1,050 Clusters from the API server
// every second cost the API server and the test process as much as a controller).
func everyClusterApplied(b *testing.B, clusters client.Reader, ns string, want int) func() bool {
	return func() bool {
		var list automationv1alpha1.ClusterList
		if err := clusters.List(context.Background(), &list, client.InNamespace(ns), client.UnsafeDisableDeepCopy); err != nil {
			b.Fatal(err)
		}
		applied := 0
		for i := range list.Items {
			st := &list.Items[i].Status
			if st.AppliedRenderHash != "" && st.AppliedRenderHash == st.RenderHash {
				applied++
			}
		}
		return applied == want
	}
}

// watchClusters starts an informer on ns's L-KaaS Clusters for the test's waits.
func watchClusters(b *testing.B, cfg *rest.Config, ns string) client.Reader {
	b.Helper()
	c, err := cache.New(cfg, cache.Options{Scheme: env.Client.Scheme(), DefaultNamespaces: map[string]cache.Config{ns: {}}})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	go func() { _ = c.Start(ctx) }()
	if _, err := c.GetInformer(ctx, &automationv1alpha1.Cluster{}); err != nil {
		b.Fatal(err)
	}
	if !c.WaitForCacheSync(ctx) {
		b.Fatal("the test's Cluster informer did not sync")
	}
	return c
}

// renderedObjects are a namespace's CAPI objects by cluster, cleaned of what the API server
// and L-KaaS add (server fields, status, owner references, L-KaaS's labels and annotations).
type renderedObjects map[string][]map[string]any

func dumpRendered(b *testing.B, c client.Client, ns string) renderedObjects {
	b.Helper()
	out := renderedObjects{}
	for _, gvk := range chainKinds {
		var list unstructured.UnstructuredList
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err := c.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
			b.Fatal(err)
		}
		for _, o := range list.Items {
			cluster := o.GetLabels()[render.ClusterLabel]
			md := map[string]any{"name": o.GetName()}
			if l := withoutLKaaS(o.GetLabels()); len(l) > 0 {
				md["labels"] = l
			}
			if a := withoutLKaaS(o.GetAnnotations()); len(a) > 0 {
				md["annotations"] = a
			}
			out[cluster] = append(out[cluster], map[string]any{"apiVersion": o.GetAPIVersion(), "kind": o.GetKind(), "metadata": md, "spec": o.Object["spec"]})
		}
	}
	return out
}

// withoutLKaaS drops L-KaaS's own labels and annotations (the cluster label, the object
// hash): kustomize-controller's copies must not wake L-KaaS's watches.
func withoutLKaaS(m map[string]string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		if !strings.HasPrefix(k, automationv1alpha1.LabelPrefix) {
			out[k] = v
		}
	}
	return out
}

func countObjects(r renderedObjects) int {
	n := 0
	for _, objs := range r {
		n += len(objs)
	}
	return n
}

// diffClusters names the clusters whose objects differ.
func diffClusters(a, b renderedObjects) []string {
	var out []string
	for name, objs := range a {
		x, _ := yaml.Marshal(objs)
		y, _ := yaml.Marshal(b[name])
		if string(x) != string(y) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// renderedFiles is the artifact for kustomize-controller: one file per cluster, in namespace ns.
func renderedFiles(r renderedObjects, ns string) map[string]string {
	files := map[string]string{}
	for name, objs := range r {
		var sb strings.Builder
		for _, o := range objs {
			o["metadata"].(map[string]any)["namespace"] = ns
			y, _ := yaml.Marshal(o)
			sb.WriteString("---\n")
			sb.Write(y)
		}
		files["clusters/"+name+".yaml"] = sb.String()
	}
	return files
}

func requestReconcile(b *testing.B, c client.Client, f *automationv1alpha1.Fleet) string {
	b.Helper()
	cur := &automationv1alpha1.Fleet{}
	if err := c.Get(context.Background(), client.ObjectKeyFromObject(f), cur); err != nil {
		b.Fatal(err)
	}
	p := client.MergeFrom(cur.DeepCopy())
	token := time.Now().Format(time.RFC3339Nano)
	if cur.Annotations == nil {
		cur.Annotations = map[string]string{}
	}
	cur.Annotations[meta.ReconcileRequestAnnotation] = token
	if err := c.Patch(context.Background(), cur, p); err != nil {
		b.Fatal(err)
	}
	return token
}

var kustomizationGVK = schema.GroupVersionKind{Group: "kustomize.toolkit.fluxcd.io", Version: "v1", Kind: "Kustomization"}

// startKustomizeController installs the Kustomization CRD and starts kustomize-controller
// against the suite's API server, with the same client rate limits as the L-KaaS manager.
func startKustomizeController(b *testing.B, path string) (*plane.Process, func()) {
	b.Helper()
	dir, err := plane.ModuleDir(kustomizeControllerModule, kustomizeControllerVersion)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := envtest.InstallCRDs(env.Config, envtest.CRDInstallOptions{Paths: []string{filepath.Join(dir, "config", "crd", "bases")}}); err != nil {
		b.Fatal(err)
	}
	kubeconfig, err := env.Kubeconfig()
	if err != nil {
		b.Fatal(err)
	}
	work := b.TempDir()
	kcfg := filepath.Join(work, "kubeconfig")
	if err := os.WriteFile(kcfg, kubeconfig, 0o600); err != nil {
		b.Fatal(err)
	}
	metricsPort, err := plane.FreePort()
	if err != nil {
		b.Fatal(err)
	}
	healthPort, err := plane.FreePort()
	if err != nil {
		b.Fatal(err)
	}
	p, err := plane.StartProcess(plane.ProcessSpec{Name: "kustomize-controller", Path: path, LogDir: work,
		Env: []string{"KUBECONFIG=" + kcfg, "RUNTIME_NAMESPACE=default"},
		Args: []string{
			fmt.Sprintf("--metrics-addr=127.0.0.1:%d", metricsPort), fmt.Sprintf("--health-addr=127.0.0.1:%d", healthPort),
			"--enable-leader-election=false", "--watch-all-namespaces=true", "--log-level=info",
			"--kube-api-qps=500", "--kube-api-burst=1000",
		}})
	if err != nil {
		b.Fatal(err)
	}
	stop := func() { _ = p.StopWithin(10 * time.Second) }
	if err := p.WaitForLog(2*time.Minute, "Starting workers"); err != nil {
		stop()
		b.Fatalf("kustomize-controller did not start: %v\n%s", err, p.Tail(30))
	}
	return p, stop
}

func createKustomization(b *testing.B, c client.Client, ns, source string) {
	b.Helper()
	k := &unstructured.Unstructured{}
	k.SetGroupVersionKind(kustomizationGVK)
	k.SetNamespace(ns)
	k.SetName("rendered")
	k.Object["spec"] = map[string]any{
		"interval":  "1h",
		"path":      "./",
		"prune":     true,
		"sourceRef": map[string]any{"kind": "GitRepository", "name": source},
	}
	if err := c.Create(context.Background(), k); err != nil {
		b.Fatal(err)
	}
}

func getKustomization(b *testing.B, c client.Client, ns string) *unstructured.Unstructured {
	k := &unstructured.Unstructured{}
	k.SetGroupVersionKind(kustomizationGVK)
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "rendered"}, k); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		b.Fatal(err)
	}
	return k
}

// kustomizationHandled polls the Kustomization until ok; a Kustomization that stalls fails
// the benchmark with its message.
func kustomizationHandled(b *testing.B, c client.Client, ns string, ok func(*unstructured.Unstructured) bool) func() bool {
	return func() bool {
		k := getKustomization(b, c, ns)
		if k == nil {
			return false
		}
		conds, _, _ := unstructured.NestedSlice(k.Object, "status", "conditions")
		for _, raw := range conds {
			cond, _ := raw.(map[string]any)
			if cond["type"] == meta.StalledCondition && cond["status"] == string(metav1.ConditionTrue) {
				b.Fatalf("kustomize-controller stalled: %v", cond["message"])
			}
		}
		return ok(k)
	}
}

func appliedRevision(k *unstructured.Unstructured) string {
	rev, _, _ := unstructured.NestedString(k.Object, "status", "lastAppliedRevision")
	return rev
}

func requestKustomization(b *testing.B, c client.Client, ns string) string {
	b.Helper()
	k := getKustomization(b, c, ns)
	token := time.Now().Format(time.RFC3339Nano)
	a := k.GetAnnotations()
	if a == nil {
		a = map[string]string{}
	}
	a[meta.ReconcileRequestAnnotation] = token
	patch := client.MergeFrom(k.DeepCopy())
	k.SetAnnotations(a)
	if err := c.Patch(context.Background(), k, patch); err != nil {
		b.Fatal(err)
	}
	return token
}

func countKustomized(b *testing.B, c client.Client, ns string) int {
	b.Helper()
	n := 0
	for _, gvk := range chainKinds {
		var list unstructured.UnstructuredList
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err := c.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
			b.Fatal(err)
		}
		n += len(list.Items)
	}
	return n
}

// processPeakRSS reads another process's VmHWM, in bytes.
func processPeakRSS(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}
