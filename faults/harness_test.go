//go:build faults

package faults

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
	"github.com/dcn-ssu/lkaas/internal/apply"
	"github.com/dcn-ssu/lkaas/internal/demo"
	"github.com/dcn-ssu/lkaas/internal/emco/emcotest"
	"github.com/dcn-ssu/lkaas/internal/plane"
	"github.com/dcn-ssu/lkaas/internal/testenv"
)

// Bounds on the waits: far above what the plane needs on a loaded 2-core machine; a test
// that reaches one fails with what it last saw.
const (
	convergeWait = 10 * time.Minute
	rolloutWait  = 15 * time.Minute
)

// startController runs `lkaas controller` as a process of the plane (so that a fault can
// SIGKILL it), with leader election as in the chart, under a supervisor that starts it again
// whenever it ends, as the kubelet does for the controller's Pod (a replica that loses its
// lease exits and is restarted, too).
func startController(t *testing.T, name string) *plane.Process {
	t.Helper()
	health, err := plane.FreePort()
	require.NoError(t, err)
	metrics, err := plane.FreePort()
	require.NoError(t, err)
	healthAddr := "127.0.0.1:" + strconv.Itoa(health)
	// Each replica authenticates as a user of its own name, so the audit log says which wrote.
	kubeconfig, err := mgmt.APIServer.AdminKubeconfig(name)
	require.NoError(t, err)
	kubeconfigPath := filepath.Join(t.TempDir(), name+".kubeconfig")
	require.NoError(t, os.WriteFile(kubeconfigPath, kubeconfig, 0o600))
	proc, err := mgmt.StartProcess(plane.ProcessSpec{
		Name: name,
		Path: lkaasBin,
		Args: []string{"controller",
			"--kubeconfig=" + kubeconfigPath,
			"--health-addr=" + healthAddr,
			"--metrics-addr=127.0.0.1:" + strconv.Itoa(metrics),
			"--enable-leader-election",
			"--leader-election-namespace=" + leaseNamespace,
			"--insecure-git-credentials-over-http",
			"--log-encoding=json",
		},
		Ready: func(p *plane.Process) error { return p.WaitForTCP(healthAddr, 2*time.Minute) },
	})
	require.NoError(t, err)
	stop := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case <-stop:
				return
			case <-time.After(500 * time.Millisecond):
			}
			if proc.Exited() && !stayDown[name].Load() {
				if err := proc.Start(); err != nil {
					t.Logf("supervisor: starting %s again: %v", name, err)
				} else {
					t.Logf("supervisor: %s started again (pid %d)", name, proc.PID())
				}
			}
		}
	}()
	t.Cleanup(func() {
		close(stop)
		<-stopped
		_ = proc.Stop()
	})
	metricsURL[name] = fmt.Sprintf("http://127.0.0.1:%d/metrics", metrics)
	return proc
}

// killController SIGKILLs a replica and waits until its supervisor has it running again.
func killController(t *testing.T, proc *plane.Process) {
	t.Helper()
	before := proc.PID()
	require.NoError(t, proc.Kill())
	waitFor(t, 3*time.Minute, proc.Name+" running again", func() (bool, string) {
		return !proc.Exited() && proc.PID() != before, "not yet"
	})
}

// stayDown marks a replica whose supervisor must not start it again (its node is gone), so
// that another replica has to take over.
var stayDown = map[string]*atomic.Bool{"lkaas-a": {}, "lkaas-b": {}}

// metricsURL of each controller replica, by process name.
var metricsURL = map[string]string{}

// tenant is one namespace with the demo's fleet repository (the mec-cluster: a centre and
// three edges in waves) plus extra standalone clusters, its GitRepository and Fleet, and an
// EMCO emulator of its own.
type tenant struct {
	t        *testing.T
	ns       string
	url      string
	repo     *sourcev1.GitRepository
	fleet    *automationv1alpha1.Fleet
	emu      *emcotest.Emulator
	clusters []string
}

var tenantSeq atomic.Int32

// mecMembers of the demo's logical cluster, by wave.
var mecMembers = map[string]int{"central-cluster": 0, "seoul-edge-cluster": 1, "busan-edge-cluster": 1, "gwangju-edge-cluster": 1}

func newTenant(t *testing.T, extra int) *tenant {
	t.Helper()
	ns := fmt.Sprintf("faults-%d", tenantSeq.Add(1))
	dir := t.TempDir()
	require.NoError(t, demo.WriteMecRepository(dir))
	require.NoError(t, filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yaml") {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(p, []byte(strings.ReplaceAll(string(data), "namespace: "+demo.Namespace, "namespace: "+ns)), 0o644)
	}))
	tn := &tenant{t: t, ns: ns}
	for m := range mecMembers {
		tn.clusters = append(tn.clusters, m)
	}
	tn.writeExtraClusters(dir, extra)
	require.NoError(t, gitServer.InitRepo(dir, "main", ns+".git"))
	tn.url = gitGate.url + "/" + ns + ".git"

	ctx := context.Background()
	c := mgmt.APIServer.Client
	require.NoError(t, c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	emu, emcoURL := emcotest.Start(t)
	tn.emu = emu
	tn.repo = demo.GitRepository(tn.url, time.Minute)
	tn.repo.Namespace = ns
	tn.fleet = demo.Fleet(emcoURL)
	tn.fleet.Namespace = ns
	t.Cleanup(tn.remove)
	return tn
}

// writeExtraClusters adds n standalone clusters with one control-plane machine each.
func (tn *tenant) writeExtraClusters(dir string, n int) {
	var b strings.Builder
	for i := range n {
		name := fmt.Sprintf("extra-%02d", i)
		tn.clusters = append(tn.clusters, name)
		fmt.Fprintf(&b, `---
apiVersion: automation.dcn.ssu.ac.kr/v1alpha1
kind: Cluster
metadata:
  name: %s
  namespace: %s
  labels:
    automation.dcn.ssu.ac.kr/managed-by: emco-mec-central-mgmt
spec:
  clusterCatalog: in-memory-catalog
  override:
    controlPlaneMachineCount: 1
    workerMachineCount: 1
`, name, tn.ns)
	}
	if n > 0 {
		require.NoError(tn.t, os.WriteFile(filepath.Join(dir, "tenant", "extra-clusters.yaml"), []byte(b.String()), 0o644))
	}
}

// start creates the GitRepository and the Fleet: the first apply begins.
func (tn *tenant) start() {
	ctx := context.Background()
	require.NoError(tn.t, mgmt.APIServer.Client.Create(ctx, tn.repo))
	require.NoError(tn.t, mgmt.APIServer.Client.Create(ctx, tn.fleet))
}

// remove deletes the Fleet and waits until its CAPI clusters are gone, so the next case
// starts on a quiet plane.
func (tn *tenant) remove() {
	c := mgmt.APIServer.Client
	_ = c.Delete(context.Background(), tn.fleet)
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		if len(tn.capiClusters()) == 0 {
			break
		}
		time.Sleep(time.Second)
	}
	_ = c.Delete(context.Background(), tn.repo)
}

// head is the repository's main commit, as Flux names revisions.
func (tn *tenant) head() string {
	out := gitCLI(tn.t, "", "ls-remote", tn.url, "refs/heads/main")
	hash, _, _ := strings.Cut(out, "\t")
	return "main@sha1:" + hash
}

// push commits change to main and asks source-controller to fetch it, as a Flux Receiver does.
func (tn *tenant) push(message string, change func(dir string)) string {
	tn.t.Helper()
	// A person pushes to the Git server itself: the push gate stands only between the Git
	// server and L-KaaS (and source-controller).
	dir := filepath.Join(tn.t.TempDir(), "repo")
	gitCLI(tn.t, "", "clone", "--quiet", "--branch", "main", gitServer.HTTPAddress()+"/"+tn.ns+".git", dir)
	change(dir)
	gitCLI(tn.t, dir, "add", "-A")
	gitCLI(tn.t, dir, "commit", "--quiet", "-m", message)
	gitCLI(tn.t, dir, "push", "--quiet", "origin", "main")
	tn.reconcileNow()
	return tn.head()
}

func (tn *tenant) reconcileNow() {
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, meta.ReconcileRequestAnnotation, time.Now().Format(time.RFC3339Nano))
	_ = mgmt.APIServer.Client.Patch(context.Background(), tn.repo.DeepCopy(), client.RawPatch("application/merge-patch+json", []byte(patch)))
}

// setVersion pushes a Kubernetes version for the catalog every member uses.
func (tn *tenant) setVersion(from, to string) string {
	return tn.push("kubernetesVersion "+to, func(dir string) {
		p := filepath.Join(dir, "tenant", "mec-cluster.yaml")
		data, err := os.ReadFile(p)
		require.NoError(tn.t, err)
		doc := strings.Replace(string(data), "kubernetesVersion: "+from, "kubernetesVersion: "+to, 1)
		require.Contains(tn.t, doc, "kubernetesVersion: "+to)
		require.NoError(tn.t, os.WriteFile(p, []byte(doc), 0o644))
	})
}

func (tn *tenant) capiClusters() []unstructured.Unstructured {
	var list unstructured.UnstructuredList
	list.SetAPIVersion("cluster.x-k8s.io/v1beta2")
	list.SetKind("ClusterList")
	if err := mgmt.APIServer.Client.List(context.Background(), &list, client.InNamespace(tn.ns)); err != nil {
		return nil
	}
	return list.Items
}

// converged reports whether the tenant is where its repository at revision says: the Fleet
// applied it and is Ready, every cluster Ready at version, the logical cluster Ready with its
// four members, every cluster registered with EMCO.
func (tn *tenant) converged(revision, version string) (bool, string) {
	ctx := context.Background()
	c := mgmt.APIServer.Client
	var f automationv1alpha1.Fleet
	if err := c.Get(ctx, client.ObjectKeyFromObject(tn.fleet), &f); err != nil {
		return false, err.Error()
	}
	if f.Status.LastAppliedRevision != revision || !conditions.IsReady(&f) {
		return false, fmt.Sprintf("Fleet at %s (want %s): %s", f.Status.LastAppliedRevision, revision, conditions.GetMessage(&f, "Ready"))
	}
	var clusters automationv1alpha1.ClusterList
	if err := c.List(ctx, &clusters, client.InNamespace(tn.ns)); err != nil {
		return false, err.Error()
	}
	if len(clusters.Items) != len(tn.clusters) {
		return false, fmt.Sprintf("%d clusters, want %d", len(clusters.Items), len(tn.clusters))
	}
	for _, cl := range clusters.Items {
		if cl.Status.Phase != automationv1alpha1.ClusterPhaseReady || !conditions.IsReady(&cl) {
			return false, fmt.Sprintf("%s %s: %s", cl.Name, cl.Status.Phase, conditions.GetMessage(&cl, "Ready"))
		}
		if version != "" && !strings.HasPrefix(cl.Name, "extra-") && tn.controlPlaneVersion(cl.Name) != version {
			return false, fmt.Sprintf("%s runs %s, want %s", cl.Name, tn.controlPlaneVersion(cl.Name), version)
		}
	}
	var lc intentv1.LogicalCluster
	if err := c.Get(ctx, client.ObjectKey{Namespace: tn.ns, Name: demo.LogicalClusterName}, &lc); err != nil {
		return false, err.Error()
	}
	if lc.Status.Phase != automationv1alpha1.ClusterPhaseReady || lc.Status.ReadyMembers != int32(len(mecMembers)) {
		return false, fmt.Sprintf("logical cluster %s %d/%d: %s", lc.Status.Phase, lc.Status.ReadyMembers, lc.Status.TotalMembers, conditions.GetMessage(&lc, "Ready"))
	}
	st := tn.emu.State()
	for _, name := range tn.clusters {
		if _, ok := st.Cluster(tn.ns, name); !ok {
			return false, name + " not registered with EMCO yet"
		}
	}
	return true, ""
}

// waitConverged waits until converged and returns how long that took.
func (tn *tenant) waitConverged(timeout time.Duration, revision, version string) time.Duration {
	tn.t.Helper()
	begin := time.Now()
	waitFor(tn.t, timeout, "the tenant converged at "+revision, func() (bool, string) { return tn.converged(revision, version) })
	return time.Since(begin)
}

// controlPlaneVersion is what the member's KubeadmControlPlane reports running.
func (tn *tenant) controlPlaneVersion(member string) string {
	kcp := tn.get("controlplane.cluster.x-k8s.io/v1beta2", "KubeadmControlPlane", member+"-control-plane")
	if kcp == nil {
		return ""
	}
	v, _, _ := unstructured.NestedString(kcp.Object, "status", "version")
	return v
}

func (tn *tenant) get(apiVersion, kind, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	if err := mgmt.APIServer.Client.Get(context.Background(), client.ObjectKey{Namespace: tn.ns, Name: name}, u); err != nil {
		return nil
	}
	return u
}

// invariants reads the tenant's state and the API server's audit log and checks every
// invariant that applies after any fault; it returns L-KaaS's writes in the namespace since
// the fault ended.
func (tn *tenant) invariants(faultEnded time.Time) (writes int) {
	t := tn.t
	t.Helper()
	ctx := context.Background()
	c := mgmt.APIServer.Client
	var f automationv1alpha1.Fleet
	require.NoError(t, c.Get(ctx, client.ObjectKeyFromObject(tn.fleet), &f))

	applied := Applied{WantClusters: tn.clusters, CAPIClusters: map[string]string{}}
	var clusters automationv1alpha1.ClusterList
	require.NoError(t, c.List(ctx, &clusters, client.InNamespace(tn.ns)))
	var conds []Condition
	addConds := func(obj string, cs []metav1.Condition) {
		for _, cond := range cs {
			conds = append(conds, Condition{Object: obj, Type: cond.Type, Status: string(cond.Status), Reason: cond.Reason, Message: cond.Message})
		}
	}
	addConds("Fleet/"+f.Name, f.Status.Conditions)
	for _, cl := range clusters.Items {
		applied.Clusters = append(applied.Clusters, cl.Name)
		addConds("Cluster/"+cl.Name, cl.Status.Conditions)
	}
	var lc intentv1.LogicalCluster
	require.NoError(t, c.Get(ctx, client.ObjectKey{Namespace: tn.ns, Name: demo.LogicalClusterName}, &lc))
	addConds("LogicalCluster/"+lc.Name, lc.Status.Conditions)
	for _, capi := range tn.capiClusters() {
		owner := ""
		for _, ref := range capi.GetOwnerReferences() {
			if ref.Kind == "Cluster" && strings.HasPrefix(ref.APIVersion, automationv1alpha1.GroupVersion.Group+"/") {
				owner = ref.Name
			}
		}
		applied.CAPIClusters[capi.GetName()] = owner
	}
	kinds := map[string]string{} // kind → group/version
	if f.Status.Inventory != nil {
		for _, e := range f.Status.Inventory.Entries {
			applied.Inventory = append(applied.Inventory, e.ID)
			parts := strings.Split(e.ID, "_")
			group, kind := parts[len(parts)-2], parts[len(parts)-1]
			kinds[kind] = e.Version
			if group != "" {
				kinds[kind] = group + "/" + e.Version
			}
		}
	}
	applied.Labelled = map[string]string{}
	idOf := func(namespace, name, apiVersion, kind string) string {
		group, _, _ := strings.Cut(apiVersion, "/")
		if !strings.Contains(apiVersion, "/") {
			group = ""
		}
		return fmt.Sprintf("%s_%s_%s_%s", namespace, name, group, kind)
	}
	for kind, apiVersion := range kinds {
		var list unstructured.UnstructuredList
		list.SetAPIVersion(apiVersion)
		list.SetKind(kind + "List")
		require.NoError(t, c.List(ctx, &list, client.MatchingLabels{apply.FleetNameLabel: f.Name, apply.FleetNamespaceLabel: f.Namespace}))
		for _, o := range list.Items {
			owner := ""
			if ref := metav1.GetControllerOf(&o); ref != nil {
				owner = idOf(o.GetNamespace(), ref.Name, ref.APIVersion, ref.Kind)
			}
			applied.Labelled[idOf(o.GetNamespace(), o.GetName(), apiVersion, kind)] = owner
		}
	}
	report(t, "applied", CheckApplied(applied))
	report(t, "conditions", CheckConditions(conds))

	events := readAudit(t)
	report(t, "created once", CheckCreatedOnce(events, tn.ns))

	creates := 0
	for _, r := range tn.emu.Requests() {
		if r.Method == http.MethodPost && r.Status == http.StatusCreated && strings.HasSuffix(r.Path, "/clusters") {
			creates++
		}
	}
	var registered []string
	for _, cl := range tn.emu.State().Clusters {
		registered = append(registered, cl.Name)
	}
	report(t, "registered once", CheckRegisteredOnce(creates, registered, tn.clusters))
	report(t, "status history", CheckStatusHistory(tn.statusHistory()))
	return CountWrites(events, tn.ns, faultEnded)
}

// statusHistory reads the status branch, oldest commit first, with the paths each changed.
func (tn *tenant) statusHistory() []StatusCommit {
	dir := filepath.Join(tn.t.TempDir(), "status")
	gitCLI(tn.t, "", "clone", "--quiet", "--branch", demo.StatusBranch, tn.url, dir)
	var out []StatusCommit
	for _, line := range strings.Split(gitCLI(tn.t, dir, "log", "--first-parent", "--reverse", "--format=%H %P"), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		changed := gitCLI(tn.t, dir, "show", "--name-only", "--format=", fields[0])
		var paths []string
		if changed != "" {
			paths = strings.Split(changed, "\n")
		}
		out = append(out, StatusCommit{Hash: fields[0], Parents: fields[1:], Changed: paths})
	}
	return out
}

func readAudit(t *testing.T) []AuditEvent {
	t.Helper()
	f, err := os.Open(auditPath)
	require.NoError(t, err)
	defer f.Close()
	events, err := ReadAudit(f)
	require.NoError(t, err)
	return events
}

// report fails the test with every violation of one invariant.
func report(t *testing.T, invariant string, violations []string) {
	t.Helper()
	for _, v := range violations {
		t.Errorf("invariant %q broken: %s", invariant, v)
	}
}

// result is one line of the suite's table, printed at the end.
type result struct {
	fault, when      string
	converge         time.Duration
	writes           int
	duplicated, lost int
	conditionsWrong  int
}

var (
	resultsMu sync.Mutex
	results   []result
)

func record(t *testing.T, r result) {
	t.Helper()
	t.Logf("%s (%s): converged %.1f s after the fault ended, %d L-KaaS writes during recovery", r.fault, r.when, r.converge.Seconds(), r.writes)
	resultsMu.Lock()
	defer resultsMu.Unlock()
	results = append(results, r)
}

// waitFor polls cond until it holds or timeout passes; then the test fails with cond's last
// account of what it saw and where the plane's logs are.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	testenv.Eventually(t, timeout, what, mgmt.LogDir, cond)
}

// gitCLI runs the git command line in dir ("" for the working directory).
func gitCLI(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := testenv.Git(dir, args...)
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// scrape sums a metric's series on a controller replica's metrics endpoint.
func scrape(t *testing.T, replica, metric string) float64 {
	t.Helper()
	resp, err := http.Get(metricsURL[replica])
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var sum float64
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(line, metric+"{") && !strings.HasPrefix(line, metric+" ") {
			continue
		}
		if v, err := strconv.ParseFloat(line[strings.LastIndex(line, " ")+1:], 64); err == nil {
			sum += v
		}
	}
	return sum
}

// printResults prints the suite's table (docs/operations.md carries it).
func printResults() {
	resultsMu.Lock()
	defer resultsMu.Unlock()
	fmt.Println("faults: | fault | when | converged after (s) | L-KaaS writes during recovery |")
	for _, r := range results {
		fmt.Printf("faults: | %s | %s | %.1f | %d |\n", r.fault, r.when, r.converge.Seconds(), r.writes)
	}
}
