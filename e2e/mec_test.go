//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
	"github.com/dcn-ssu/lkaas/internal/demo"
	"github.com/dcn-ssu/lkaas/internal/emco/emcotest"
	"github.com/dcn-ssu/lkaas/internal/versionrules"
)

var mecMembers = map[string]string{ // member → location
	"central-cluster": "kr-seoul", "seoul-edge-cluster": "kr-seoul",
	"busan-edge-cluster": "kr-busan", "gwangju-edge-cluster": "kr-gwangju",
}

// pushMecRepository pushes the repository `make demo` pushes (gitops-examples/mec-demo).
func pushMecRepository(t *testing.T, repoPath string) (url, head string) {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, demo.WriteMecRepository(dir))
	require.NoError(t, gitServer.InitRepo(dir, "main", repoPath))
	url = gitServer.HTTPAddress() + "/" + repoPath
	return url, remoteHead(t, url)
}

// Issue 8, step 1: the seed's logical cluster pushed to Git becomes four clusters built by
// the real Cluster API (CAPD in-memory), each registered with EMCO with its labels, one
// instantiated logical cloud, and a status commit that names the pushed revision.
func TestMecClusterFromGitToEMCOAndBack(t *testing.T) {
	ctx := context.Background()
	c := mgmt.APIServer.Client
	lap := stopwatch(t)
	emu, emcoURL := emcotest.Start(t)

	url, head := pushMecRepository(t, "lkaas/mec.git")
	lap("pushed the mec-cluster repository (%s)", head[:12])
	ensureNamespace(t, "edge")
	// The demo's tenant objects; the e2e tests ask for reconciliation after each push.
	repo := demo.GitRepository(url, time.Minute)
	require.NoError(t, c.Create(ctx, repo))
	fleet := demo.Fleet(emcoURL)
	require.NoError(t, c.Create(ctx, fleet))
	revision := "main@sha1:" + head
	t.Cleanup(func() {
		_ = c.Delete(context.Background(), fleet)
		wait(t, 5*time.Minute, "Fleet deletion", func() (bool, string) {
			var capi unstructured.UnstructuredList
			capi.SetAPIVersion("cluster.x-k8s.io/v1beta2")
			capi.SetKind("ClusterList")
			err := c.List(context.Background(), &capi, client.InNamespace("edge"))
			return err == nil && len(capi.Items) == 0, fmt.Sprintf("%d CAPI clusters left", len(capi.Items))
		})
		_ = c.Delete(context.Background(), repo)
	})

	wait(t, applyWait, "Fleet applying "+revision, func() (bool, string) {
		var f automationv1alpha1.Fleet
		if err := c.Get(ctx, client.ObjectKeyFromObject(fleet), &f); err != nil {
			return false, err.Error()
		}
		return f.Status.LastAppliedRevision == revision && conditions.IsReady(&f), conditions.GetMessage(&f, "Ready")
	})
	lap("Fleet applied %s", revision)

	// Real CAPI builds the four clusters; L-KaaS follows them to Ready.
	wait(t, 10*time.Minute, "a Ready logical cluster", func() (bool, string) {
		var lc intentv1.LogicalCluster
		if err := c.Get(ctx, client.ObjectKey{Namespace: "edge", Name: "mec-cluster"}, &lc); err != nil {
			return false, err.Error()
		}
		return lc.Status.ReadyMembers == 4 && lc.Status.Phase == automationv1alpha1.ClusterPhaseReady,
			fmt.Sprintf("%s %d/%d: %s", lc.Status.Phase, lc.Status.ReadyMembers, lc.Status.TotalMembers, conditions.GetMessage(&lc, "Ready"))
	})
	lap("all four members Ready (CAPI Available)")
	// CAPI agrees. Its Available flaps while CAPD is short of CPU (see capiServing), so this
	// waits for what it reports of the control plane and workers rather than reading it once.
	for name := range mecMembers {
		wait(t, 2*time.Minute, "CAPI reports "+name+"'s control plane and workers available", func() (bool, string) {
			return capiServing(name)
		})
	}

	// EMCO: four clusters with their labels, one instantiated logical cloud.
	wait(t, 2*time.Minute, "the logical cloud instantiated with four clusters", func() (bool, string) {
		st := emu.State()
		cloud, ok := st.LogicalCloud("dcn", "mec-cluster")
		return ok && len(cloud.References) == 4 && cloud.DeployedStatus == "Instantiated", fmt.Sprintf("%+v", cloud)
	})
	lap("registered with EMCO; logical cloud instantiated")
	st := emu.State()
	for name, location := range mecMembers {
		cl, ok := st.Cluster("edge", name)
		require.True(t, ok, "EMCO holds %s", name)
		assert.Contains(t, cl.Labels, "location-"+location)
		assert.Contains(t, string(cl.Kubeconfig), "apiVersion: v1", "the kubeconfig CAPI wrote")
	}
	cloud, _ := st.LogicalCloud("dcn", "mec-cluster")
	assert.Equal(t, 1, strings.Count(strings.Join(cloud.Actions, ","), "Instantiated"), "instantiated once: %v", cloud.Actions)

	// Git: a status commit naming the revision, with the logical cluster Ready.
	wait(t, 2*time.Minute, "a status commit with the Ready logical cluster", func() (bool, string) {
		dir := filepath.Join(t.TempDir(), "status")
		if _, err := gitTry(dir, url); err != nil {
			return false, err.Error()
		}
		doc, err := os.ReadFile(filepath.Join(dir, "status", "edge", "logicalcluster", "mec-cluster.yaml"))
		if err != nil {
			return false, err.Error()
		}
		return strings.Contains(string(doc), "readyMembers: 4"), string(doc)
	})
	dir := filepath.Join(t.TempDir(), "status")
	_, err := gitTry(dir, url)
	require.NoError(t, err)
	assert.Contains(t, gitCLI(t, dir, "log", "--format=%s"), "lkaas: status of Fleet edge/edge at "+revision)
	history := gitCLI(t, dir, "log", "-p")
	assert.NotContains(t, history, "client-key-data", "no kubeconfig in the history")
	lap("status commit on lkaas/status")

	// Step 2: a Kubernetes version bump of every member rolls in waves (the centre, then the
	// edges one at a time) while every member stays Available.
	upgradeInWaves(t, url, repo)
	lap("v1.35.0 rolled across the members in waves, control planes and workers available throughout")

	// Step 2b: a downgrade commit and a minor-skip commit change nothing on the plane and say
	// why on the member, the LogicalCluster and the status branch; going back to v1.35.0 resumes.
	refuseVersionRuleBreaks(t, url, repo)
	lap("a downgrade and a skipped minor refused, nothing written; back to v1.35.0")

	// Step 2c: one member jumps two minors through a listed chain: two steps, in order, each
	// the control plane first and then the workers, sampled every second.
	jumpTwoMinors(t, url, repo, "gwangju-edge-cluster")
	lap("gwangju v1.35.0 -> v1.36.0 -> v1.37.0 in two steps, control plane then workers each, no worker ahead")

	// Step 3: a broken YAML file changes nothing; the Fleet, and the status branch, say where.
	var applied automationv1alpha1.Fleet
	require.NoError(t, c.Get(ctx, client.ObjectKeyFromObject(fleet), &applied))
	goodRevision := applied.Status.LastAppliedRevision
	before := clusterUIDs(t)
	head = pushChange(t, url, "break a file", func(dir string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "tenant", "broken.yaml"), []byte("apiVersion: automation.dcn.ssu.ac.kr/v1alpha1\nkind: ClusterCatalog\nmetadata: {name: broken, namespace: edge\n"), 0o644))
	})
	reconcileNow(t, repo)
	wait(t, applyWait, "the Fleet reporting the broken file", func() (bool, string) {
		var f automationv1alpha1.Fleet
		if err := c.Get(ctx, client.ObjectKeyFromObject(fleet), &f); err != nil {
			return false, err.Error()
		}
		msg := conditions.GetMessage(&f, "Ready")
		return f.Status.LastAttemptedRevision == "main@sha1:"+head && strings.Contains(msg, "tenant/broken.yaml:"), msg
	})
	assert.Equal(t, before, clusterUIDs(t), "nothing changed in the cluster")
	var f automationv1alpha1.Fleet
	require.NoError(t, c.Get(ctx, client.ObjectKeyFromObject(fleet), &f))
	assert.Equal(t, goodRevision, f.Status.LastAppliedRevision)
	wait(t, time.Minute, "the status branch reporting the broken file", func() (bool, string) {
		dir := filepath.Join(t.TempDir(), "status")
		if _, err := gitTry(dir, url); err != nil {
			return false, err.Error()
		}
		doc, err := os.ReadFile(filepath.Join(dir, "status", "edge", "fleet", "edge.yaml"))
		return err == nil && strings.Contains(string(doc), "tenant/broken.yaml:"), string(doc)
	})
	lap("broken file reported by the Fleet and on the status branch; nothing changed")

	// Steps 4 and 5: gwangju leaves the logical cluster while EMCO is down. It stays
	// registered and its CAPI cluster stays; once EMCO is back it is deregistered, then its
	// CAPI objects go, with no duplicate registration anywhere.
	emu.AddFault(emcotest.Fault{Status: 503})
	head = pushChange(t, url, "remove gwangju, repair the file", func(dir string) {
		require.NoError(t, os.Remove(filepath.Join(dir, "tenant", "broken.yaml")))
		p := filepath.Join(dir, "tenant", "mec-cluster.yaml")
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		doc := string(data)
		i := strings.Index(doc, "    - cluster:\n        name: gwangju-edge-cluster")
		require.Positive(t, i)
		require.NoError(t, os.WriteFile(p, []byte(doc[:i]), 0o644))
	})
	reconcileNow(t, repo)
	wait(t, applyWait, "gwangju held for deregistration", func() (bool, string) {
		var cl automationv1alpha1.Cluster
		if err := c.Get(ctx, client.ObjectKey{Namespace: "edge", Name: "gwangju-edge-cluster"}, &cl); err != nil {
			return false, err.Error()
		}
		cond := conditions.Get(&cl, "Registered")
		return !cl.DeletionTimestamp.IsZero() && cond != nil && cond.Reason == "Deregistering", fmt.Sprintf("%+v", cond)
	})
	// Let the registrar try EMCO again while it is down, so the check below comes after
	// passes that could have (wrongly) let CAPI delete the cluster.
	refusedBefore := refusedByEMCO(emu)
	wait(t, 2*time.Minute, "two more EMCO attempts refused while it is down", func() (bool, string) {
		n := refusedByEMCO(emu)
		return n >= refusedBefore+2, fmt.Sprintf("%d refused", n-refusedBefore)
	})
	capi := &unstructured.Unstructured{}
	capi.SetAPIVersion("cluster.x-k8s.io/v1beta2")
	capi.SetKind("Cluster")
	require.NoError(t, c.Get(ctx, client.ObjectKey{Namespace: "edge", Name: "gwangju-edge-cluster"}, capi))
	assert.Nil(t, capi.GetDeletionTimestamp(), "CAPI keeps gwangju while EMCO cannot be told")
	lap("EMCO down: gwangju held, registered, its CAPI cluster kept")

	emu.ClearFaults()
	wait(t, 3*time.Minute, "gwangju deregistered and gone", func() (bool, string) {
		st := emu.State()
		_, registered := st.Cluster("edge", "gwangju-edge-cluster")
		err := c.Get(ctx, client.ObjectKey{Namespace: "edge", Name: "gwangju-edge-cluster"}, capi)
		return !registered && apierrors.IsNotFound(err), fmt.Sprintf("registered %v, CAPI cluster %v", registered, err)
	})
	st = emu.State()
	cloud, _ = st.LogicalCloud("dcn", "mec-cluster")
	assert.Len(t, cloud.References, 3)
	assert.Len(t, st.Clusters, 3, "no duplicate and no leftover registration")
	assert.Equal(t, 1, strings.Count(strings.Join(cloud.Actions, ","), "Instantiated"), "updated, never re-instantiated: %v", cloud.Actions)
	creates := 0
	for _, r := range emu.Requests() {
		if r.Method == "POST" && r.Status == 201 && strings.HasSuffix(r.Path, "/clusters") {
			creates++
		}
	}
	assert.Equal(t, 4, creates, "each cluster registered once")
	lap("EMCO back: gwangju deregistered first, then its CAPI objects; logical cloud updated")
}

// clusterUIDs identify the namespace's CAPI Clusters and L-KaaS Clusters with their specs:
// UID and generation. Equal sets mean nothing was re-created and no spec was written. The
// resourceVersion would also move with the CAPI controllers' own status writes, which go on
// for a while after an upgrade and are not changes made by L-KaaS.
func clusterUIDs(t *testing.T) []string {
	t.Helper()
	var capi unstructured.UnstructuredList
	capi.SetAPIVersion("cluster.x-k8s.io/v1beta2")
	capi.SetKind("ClusterList")
	require.NoError(t, mgmt.APIServer.Client.List(context.Background(), &capi, client.InNamespace("edge")))
	var ids []string
	for _, c := range capi.Items {
		ids = append(ids, fmt.Sprintf("capi %s/%s/%d", c.GetName(), c.GetUID(), c.GetGeneration()))
	}
	var clusters automationv1alpha1.ClusterList
	require.NoError(t, mgmt.APIServer.Client.List(context.Background(), &clusters, client.InNamespace("edge")))
	for _, c := range clusters.Items {
		ids = append(ids, fmt.Sprintf("lkaas %s/%s/%d", c.Name, c.UID, c.Generation))
	}
	slices.Sort(ids)
	return ids
}

// pushChange clones main, lets change edit the checkout, commits and pushes; it returns the
// new head.
func pushChange(t *testing.T, url, message string, change func(dir string)) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "repo")
	gitCLI(t, "", "clone", "--quiet", "--branch", "main", url, dir)
	change(dir)
	gitCLI(t, dir, "add", "-A")
	gitCLI(t, dir, "commit", "--quiet", "-m", message)
	gitCLI(t, dir, "push", "--quiet", "origin", "main")
	return remoteHead(t, url)
}

// reconcileNow does what a Flux Receiver does after a push.
func reconcileNow(t *testing.T, repo *sourcev1.GitRepository) {
	t.Helper()
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, meta.ReconcileRequestAnnotation, time.Now().Format(time.RFC3339Nano))
	require.NoError(t, mgmt.APIServer.Client.Patch(context.Background(), repo.DeepCopy(), client.RawPatch("application/merge-patch+json", []byte(patch))))
}

// gitTry clones the status branch into dir; an error while it does not exist yet.
func gitTry(dir, url string) (string, error) {
	out, err := gitCommand("", "clone", "--quiet", "--branch", "lkaas/status", url, dir)
	if err != nil {
		return out, fmt.Errorf("%v: %s", err, out)
	}
	return out, nil
}

// upgradeInWaves pushes kubernetesVersion v1.35.0 for the catalog every member uses and
// samples, twice a second, which members are upgrading and whether CAPI reports each one
// Available, until all run v1.35.0.
func upgradeInWaves(t *testing.T, url string, repo *sourcev1.GitRepository) {
	t.Helper()
	ctx := context.Background()
	c := mgmt.APIServer.Client
	pushChange(t, url, "upgrade the mec-cluster to v1.35.0", func(dir string) {
		p := filepath.Join(dir, "tenant", "mec-cluster.yaml")
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		doc := strings.Replace(string(data), "kubernetesVersion: v1.34.1", "kubernetesVersion: v1.35.0", 1)
		require.Contains(t, doc, "kubernetesVersion: v1.35.0")
		require.NoError(t, os.WriteFile(p, []byte(doc), 0o644))
	})
	reconcileNow(t, repo)

	upgradingSince := map[string]time.Time{}
	var overlaps, unavailable, workersAhead []string
	started := time.Now()
	var order []string
	wait(t, 25*time.Minute, "every member on v1.35.0", func() (bool, string) {
		var lc intentv1.LogicalCluster
		if err := c.Get(ctx, client.ObjectKey{Namespace: "edge", Name: "mec-cluster"}, &lc); err != nil {
			return false, err.Error()
		}
		var upgrading []string
		done := 0
		for _, m := range lc.Status.Members {
			var cl automationv1alpha1.Cluster
			if err := c.Get(ctx, client.ObjectKey{Namespace: "edge", Name: m.Name}, &cl); err != nil {
				return false, err.Error()
			}
			if cl.Status.ControlPlaneVersion == "v1.35.0" && cl.Status.WorkersVersion == "v1.35.0" && cl.Status.Phase == automationv1alpha1.ClusterPhaseReady {
				done++
			}
			if cl.Status.Phase == automationv1alpha1.ClusterPhaseUpgrading {
				upgrading = append(upgrading, m.Name)
				if _, seen := upgradingSince[m.Name]; !seen {
					upgradingSince[m.Name] = time.Now()
					order = append(order, m.Name)
				}
			}
			if why := workerAheadOfControlPlane(t, m.Name); why != "" {
				workersAhead = append(workersAhead, fmt.Sprintf("%s at %.0fs: %s", m.Name, time.Since(started).Seconds(), why))
			}
			if ok, why := capiServing(m.Name); !ok {
				unavailable = append(unavailable, fmt.Sprintf("%s at %.0fs: %s", m.Name, time.Since(started).Seconds(), why))
			}
		}
		if len(upgrading) > 1 {
			overlaps = append(overlaps, fmt.Sprintf("%v at %.0fs", upgrading, time.Since(started).Seconds()))
		}
		time.Sleep(400 * time.Millisecond)
		return done == len(lc.Status.Members) && len(lc.Status.Members) == 4,
			fmt.Sprintf("%d/4 done, upgrading %v, wave %v", done, upgrading, lc.Status.CurrentWave)
	})
	assert.Empty(t, overlaps, "never two members upgrading at once (maxUnavailable 1)")
	assert.Empty(t, workersAhead, "no worker Machine ever newer than a control-plane Machine of its cluster")
	assert.Empty(t, unavailable, "every member's control plane and workers available throughout")
	require.NotEmpty(t, order)
	assert.Equal(t, "central-cluster", order[0], "the centre (wave 0) first: %v", order)
	for _, name := range order {
		t.Logf("%s started upgrading at %.0fs", name, upgradingSince[name].Sub(started).Seconds())
	}
}

// capiServing says whether CAPI reports a member's control plane and workers available, and
// if not, what it says. CAPI's summary Available also folds in its RemoteConnectionProbe; with
// CAPD's in-memory backend the probed API server is simulated inside CAPD whatever the machines
// do, so the probe flaps when CAPD is short of CPU and says nothing about the upgrade.
func capiServing(name string) (bool, string) {
	capi := &unstructured.Unstructured{}
	capi.SetAPIVersion("cluster.x-k8s.io/v1beta2")
	capi.SetKind("Cluster")
	if err := mgmt.APIServer.Client.Get(context.Background(), client.ObjectKey{Namespace: "edge", Name: name}, capi); err != nil {
		return false, err.Error()
	}
	conds, _, _ := unstructured.NestedSlice(capi.Object, "status", "conditions")
	var missing []string
	for _, want := range []string{"ControlPlaneAvailable", "WorkersAvailable"} {
		if !slices.ContainsFunc(conds, func(c any) bool {
			m := c.(map[string]any)
			return m["type"] == want && m["status"] == "True"
		}) {
			missing = append(missing, want)
		}
	}
	return len(missing) == 0, fmt.Sprintf("not %v", missing)
}

// refusedByEMCO counts the requests the emulator answered 503, as a down EMCO behind a proxy.
func refusedByEMCO(emu *emcotest.Emulator) int {
	n := 0
	for _, r := range emu.Requests() {
		if r.Status == http.StatusServiceUnavailable {
			n++
		}
	}
	return n
}

// workerAheadOfControlPlane says which worker Machine of a member runs a newer version than
// one of its control-plane Machines, or "".
func workerAheadOfControlPlane(t *testing.T, member string) string {
	t.Helper()
	var machines unstructured.UnstructuredList
	machines.SetAPIVersion("cluster.x-k8s.io/v1beta2")
	machines.SetKind("MachineList")
	if err := mgmt.APIServer.Client.List(context.Background(), &machines, client.InNamespace("edge"),
		client.MatchingLabels{"cluster.x-k8s.io/cluster-name": member}); err != nil {
		return ""
	}
	var oldestCP, newestWorker *versionrules.Version
	var cpName, workerName string
	for _, m := range machines.Items {
		raw, _, _ := unstructured.NestedString(m.Object, "spec", "version")
		v, err := versionrules.Parse(raw)
		if err != nil {
			continue
		}
		if _, cp := m.GetLabels()["cluster.x-k8s.io/control-plane"]; cp {
			if oldestCP == nil || v.Compare(*oldestCP) < 0 {
				oldestCP, cpName = &v, m.GetName()
			}
		} else if newestWorker == nil || v.Compare(*newestWorker) > 0 {
			newestWorker, workerName = &v, m.GetName()
		}
	}
	if oldestCP != nil && newestWorker != nil && newestWorker.Compare(*oldestCP) > 0 {
		return fmt.Sprintf("worker %s at %s, control plane %s at %s", workerName, newestWorker, cpName, oldestCP)
	}
	return ""
}

// asked reads the versions a member's KubeadmControlPlane and MachineDeployments are asked for.
func asked(t *testing.T, member string) string {
	t.Helper()
	ctx := context.Background()
	kcp := &unstructured.Unstructured{}
	kcp.SetAPIVersion("controlplane.cluster.x-k8s.io/v1beta2")
	kcp.SetKind("KubeadmControlPlane")
	require.NoError(t, mgmt.APIServer.Client.Get(ctx, client.ObjectKey{Namespace: "edge", Name: member + "-control-plane"}, kcp))
	v, _, _ := unstructured.NestedString(kcp.Object, "spec", "version")
	out := "control plane " + v
	var mds unstructured.UnstructuredList
	mds.SetAPIVersion("cluster.x-k8s.io/v1beta2")
	mds.SetKind("MachineDeploymentList")
	require.NoError(t, mgmt.APIServer.Client.List(ctx, &mds, client.InNamespace("edge"), client.MatchingLabels{"cluster.x-k8s.io/cluster-name": member}))
	for _, md := range mds.Items {
		w, _, _ := unstructured.NestedString(md.Object, "spec", "template", "spec", "version")
		out += ", workers " + w
	}
	return out
}

// refuseVersionRuleBreaks pushes a downgrade (v1.35.0 -> v1.34.1), then a skipped minor
// (-> v1.37.0): the centre refuses each with its rule and writes nothing, the logical cluster
// halts on it (the edges never start), and the status branch says so. v1.35.0 again resumes.
func refuseVersionRuleBreaks(t *testing.T, url string, repo *sourcev1.GitRepository) {
	t.Helper()
	ctx := context.Background()
	c := mgmt.APIServer.Client
	before := map[string]string{}
	for name := range mecMembers {
		before[name] = asked(t, name)
	}
	setVersion := func(from, to string) {
		pushChange(t, url, "kubernetesVersion "+to, func(dir string) {
			p := filepath.Join(dir, "tenant", "mec-cluster.yaml")
			data, err := os.ReadFile(p)
			require.NoError(t, err)
			doc := strings.Replace(string(data), "kubernetesVersion: "+from, "kubernetesVersion: "+to, 1)
			require.Contains(t, doc, "kubernetesVersion: "+to)
			require.NoError(t, os.WriteFile(p, []byte(doc), 0o644))
		})
		reconcileNow(t, repo)
	}
	for _, tc := range []struct{ from, to, rule string }{
		{"v1.35.0", "v1.34.1", "no-downgrade"},
		{"v1.34.1", "v1.37.0", "no-minor-skip"},
	} {
		setVersion(tc.from, tc.to)
		wait(t, applyWait, "the centre refusing "+tc.to, func() (bool, string) {
			var cl automationv1alpha1.Cluster
			if err := c.Get(ctx, client.ObjectKey{Namespace: "edge", Name: "central-cluster"}, &cl); err != nil {
				return false, err.Error()
			}
			cond := conditions.Get(&cl, "Ready")
			return cond != nil && cond.Reason == "UpgradeRefused" && strings.Contains(cond.Message, "(rule "+tc.rule+")") &&
				strings.Contains(cond.Message, tc.to), fmt.Sprintf("%+v", cond)
		})
		wait(t, time.Minute, "the logical cluster halted on the centre", func() (bool, string) {
			var lc intentv1.LogicalCluster
			if err := c.Get(ctx, client.ObjectKey{Namespace: "edge", Name: "mec-cluster"}, &lc); err != nil {
				return false, err.Error()
			}
			msg := conditions.GetMessage(&lc, "RolloutHalted")
			return conditions.IsTrue(&lc, "RolloutHalted") && strings.Contains(msg, "central-cluster") && strings.Contains(msg, tc.rule), msg
		})
		wait(t, time.Minute, "the Fleet naming the refused centre and the rule", func() (bool, string) {
			var f automationv1alpha1.Fleet
			if err := c.Get(ctx, client.ObjectKey{Namespace: "edge", Name: "edge"}, &f); err != nil {
				return false, err.Error()
			}
			cond := conditions.Get(&f, "Ready")
			return cond != nil && cond.Reason == "UpgradeRefused" && strings.Contains(cond.Message, "central-cluster: ") &&
				strings.Contains(cond.Message, "(rule "+tc.rule+")") && conditions.IsTrue(&f, "UpgradeRefused"), fmt.Sprintf("%+v", cond)
		})
		wait(t, time.Minute, "the status branch saying why", func() (bool, string) {
			dir := filepath.Join(t.TempDir(), "status")
			if _, err := gitTry(dir, url); err != nil {
				return false, err.Error()
			}
			doc, err := os.ReadFile(filepath.Join(dir, "status", "edge", "cluster", "central-cluster.yaml"))
			if err != nil || !strings.Contains(string(doc), "UpgradeRefused") || !strings.Contains(string(doc), tc.rule) {
				return false, fmt.Sprintf("%v: %s", err, doc)
			}
			fleetDoc, err := os.ReadFile(filepath.Join(dir, "status", "edge", "fleet", "edge.yaml"))
			return err == nil && strings.Contains(string(fleetDoc), "UpgradeRefused") && strings.Contains(string(fleetDoc), tc.rule), string(fleetDoc)
		})
		for name := range mecMembers {
			assert.Equal(t, before[name], asked(t, name), "%s: nothing written for %s", name, tc.to)
		}
	}
	setVersion("v1.37.0", "v1.35.0")
	wait(t, 5*time.Minute, "the logical cluster Ready again", func() (bool, string) {
		var lc intentv1.LogicalCluster
		if err := c.Get(ctx, client.ObjectKey{Namespace: "edge", Name: "mec-cluster"}, &lc); err != nil {
			return false, err.Error()
		}
		return lc.Status.Phase == automationv1alpha1.ClusterPhaseReady && lc.Status.ReadyMembers == 4, conditions.GetMessage(&lc, "Ready")
	})
	wait(t, applyWait, "the Fleet Ready again, nothing refused", func() (bool, string) {
		var f automationv1alpha1.Fleet
		if err := c.Get(ctx, client.ObjectKey{Namespace: "edge", Name: "edge"}, &f); err != nil {
			return false, err.Error()
		}
		return conditions.IsReady(&f) && !conditions.Has(&f, "UpgradeRefused"), conditions.GetMessage(&f, "Ready")
	})
}

// machineVersions is one sample of a member: the versions its control-plane Machines and its
// worker Machines run (spec.version), each sorted, and what its objects are asked to run.
type machineVersions struct {
	controlPlane, workers []string
	askedControlPlane     string
	askedWorkers          string
}

func (m machineVersions) String() string {
	return fmt.Sprintf("control plane %v (asked %s), workers %v (asked %s)", m.controlPlane, m.askedControlPlane, m.workers, m.askedWorkers)
}

// sampleMachines reads a member's Machines and its KubeadmControlPlane's and
// MachineDeployment's asked versions.
func sampleMachines(t *testing.T, member string) machineVersions {
	t.Helper()
	var machines unstructured.UnstructuredList
	machines.SetAPIVersion("cluster.x-k8s.io/v1beta2")
	machines.SetKind("MachineList")
	require.NoError(t, mgmt.APIServer.Client.List(context.Background(), &machines, client.InNamespace("edge"),
		client.MatchingLabels{"cluster.x-k8s.io/cluster-name": member}))
	var s machineVersions
	for _, m := range machines.Items {
		v, _, _ := unstructured.NestedString(m.Object, "spec", "version")
		if _, cp := m.GetLabels()["cluster.x-k8s.io/control-plane"]; cp {
			s.controlPlane = append(s.controlPlane, v)
		} else {
			s.workers = append(s.workers, v)
		}
	}
	slices.Sort(s.controlPlane)
	slices.Sort(s.workers)
	asked := asked(t, member) // "control plane vX, workers vY"
	cp, workers, _ := strings.Cut(strings.TrimPrefix(asked, "control plane "), ", workers ")
	s.askedControlPlane, s.askedWorkers = cp, workers
	return s
}

// allAt says whether every version of vs is v (and there is at least one).
func allAt(vs []string, v string) bool {
	return len(vs) > 0 && !slices.ContainsFunc(vs, func(x string) bool { return x != v })
}

// jumpTwoMinors moves one member from v1.35.0 to v1.37.0 with v1.36.0 listed as the chain,
// through a member override, and samples its Machines every second: the control plane must
// reach each step before any worker does, every worker must reach v1.36.0 before the control
// plane is asked for v1.37.0, and no worker may ever run newer than a control-plane Machine.
func jumpTwoMinors(t *testing.T, url string, repo *sourcev1.GitRepository, member string) {
	t.Helper()
	ctx := context.Background()
	c := mgmt.APIServer.Client
	pushChange(t, url, member+": v1.35.0 to v1.37.0 through v1.36.0", func(dir string) {
		p := filepath.Join(dir, "tenant", "mec-cluster.yaml")
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		entry := "        name: " + member + "\n"
		i := strings.Index(string(data), entry)
		require.Positive(t, i)
		j := strings.Index(string(data)[i:], "          wave: 1\n")
		require.Positive(t, j)
		at := i + j + len("          wave: 1\n")
		doc := string(data)[:at] + "          override:\n            kubernetesVersion: v1.37.0\n            kubernetesVersions: [v1.36.0]\n" + string(data)[at:]
		require.NoError(t, os.WriteFile(p, []byte(doc), 0o644))
	})
	reconcileNow(t, repo)

	started := time.Now()
	var samples []machineVersions
	var violations, messages []string
	wait(t, 20*time.Minute, member+" on v1.37.0, control plane and workers", func() (bool, string) {
		s := sampleMachines(t, member)
		at := time.Since(started).Seconds()
		if len(samples) == 0 || s.String() != samples[len(samples)-1].String() {
			samples = append(samples, s)
			t.Logf("%5.0fs %s: %s", at, member, s)
		}
		if why := workerAheadOfControlPlane(t, member); why != "" {
			violations = append(violations, fmt.Sprintf("at %.0fs: %s", at, why))
		}
		if s.askedControlPlane == "v1.37.0" && slices.Contains(s.workers, "v1.35.0") {
			violations = append(violations, fmt.Sprintf("at %.0fs: the control plane asked for v1.37.0 while workers run %v", at, s.workers))
		}
		var cl automationv1alpha1.Cluster
		if err := c.Get(ctx, client.ObjectKey{Namespace: "edge", Name: member}, &cl); err != nil {
			return false, err.Error()
		}
		if msg := conditions.GetMessage(&cl, "Ready"); len(messages) == 0 || messages[len(messages)-1] != msg {
			messages = append(messages, msg)
		}
		time.Sleep(time.Second)
		return allAt(s.controlPlane, "v1.37.0") && allAt(s.workers, "v1.37.0") && cl.Status.Phase == automationv1alpha1.ClusterPhaseReady, s.String()
	})
	assert.Empty(t, violations, "workers never ahead of the control plane, the second step only after the first")

	// The asked versions, in the order they appeared: each step's control plane, then its workers.
	var steps []string
	for _, s := range samples {
		step := "control plane " + s.askedControlPlane + ", workers " + s.askedWorkers
		if len(steps) == 0 || steps[len(steps)-1] != step {
			steps = append(steps, step)
		}
	}
	if len(steps) > 0 && steps[0] == "control plane v1.35.0, workers v1.35.0" {
		steps = steps[1:] // sampled before the controller wrote the first step
	}
	assert.Equal(t, []string{
		"control plane v1.36.0, workers v1.35.0",
		"control plane v1.36.0, workers v1.36.0",
		"control plane v1.37.0, workers v1.36.0",
		"control plane v1.37.0, workers v1.37.0",
	}, steps, "two steps in order; samples: %v", samples)
	// Each step's control plane ran before its workers were asked to move: no control-plane
	// Machine older than the workers' asked version (it may be newer: the next step's).
	for _, s := range samples {
		asked, err := versionrules.Parse(s.askedWorkers)
		require.NoError(t, err)
		for _, v := range s.controlPlane {
			if cp, err := versionrules.Parse(v); err == nil && cp.Compare(asked) < 0 {
				t.Errorf("workers asked for %s while the control plane runs %v", s.askedWorkers, s.controlPlane)
				break
			}
		}
	}
	assert.True(t, slices.ContainsFunc(messages, func(m string) bool {
		return strings.Contains(m, "step 1 of 2 to v1.37.0") || strings.Contains(m, "workers wait for the control plane")
	}), "the member said what it waited for: %q", messages)
	for _, m := range messages {
		t.Logf("%s said: %s", member, m)
	}
}
