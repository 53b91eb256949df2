//go:build faults

package faults

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/internal/emco/emcotest"
	"github.com/dcn-ssu/lkaas/internal/plane"
	"github.com/dcn-ssu/lkaas/internal/testenv"
)

// The first version the demo's clusters run, and the one the rollouts move them to.
const (
	fromVersion = "v1.34.1"
	toVersion   = "v1.35.0"
)

// The controller is SIGKILLed while the first apply of a Fleet is under way (some CAPI
// clusters made, not all), and started again: in the end every cluster exists once, with
// nothing orphaned, every object applied once (no L-KaaS object written after its creation,
// no object created twice), and every condition right.
func TestControllerKilledMidFirstApply(t *testing.T) {
	ctrl := startController(t, "lkaas-a")
	tn := newTenant(t, 4)
	tn.start()
	tn.waitFirstApplyUnderWay()
	t.Logf("killing the controller with %d of %d CAPI clusters made", len(tn.capiClusters()), len(tn.clusters))
	killController(t, ctrl)
	ended := time.Now()

	took := tn.waitConverged(convergeWait, tn.head(), fromVersion)
	writes := tn.invariants(ended)
	tn.appliedOnce()
	record(t, result{fault: "L-KaaS controller SIGKILL, restart", when: "mid first apply", converge: took, writes: writes})
}

// The controller is SIGKILLed while the centre's control plane rolls to a new version, and
// started again: the rollout finishes in wave order within maxUnavailable, and no step is
// written twice (each member's control plane and worker pools changed spec exactly once).
func TestControllerKilledMidWaveUpgrade(t *testing.T) {
	ctrl := startController(t, "lkaas-a")
	tn := newTenant(t, 0)
	tn.start()
	tn.waitConverged(convergeWait, tn.head(), fromVersion)
	before := tn.generations()

	sampler := tn.sampleWaves(toVersion)
	revision := tn.setVersion(fromVersion, toVersion)
	waitFor(t, rolloutWait, "the centre's control plane rolling", func() (bool, string) {
		kcp := tn.get("controlplane.cluster.x-k8s.io/v1beta2", "KubeadmControlPlane", "central-cluster-control-plane")
		if kcp == nil {
			return false, "no KubeadmControlPlane"
		}
		spec, _, _ := unstructured.NestedString(kcp.Object, "spec", "version")
		status, _, _ := unstructured.NestedString(kcp.Object, "status", "version")
		return spec == toVersion && status != toVersion, fmt.Sprintf("spec %s, status %s", spec, status)
	})
	killController(t, ctrl)
	ended := time.Now()

	took := tn.waitConverged(rolloutWait, revision, toVersion)
	samples := sampler()
	report(t, "waves", CheckWaves(samples, mecMembers, 1))
	tn.eachStepOnce(before)
	writes := tn.invariants(ended)
	record(t, result{fault: "L-KaaS controller SIGKILL, restart", when: "mid wave upgrade (centre's control plane rolling)", converge: took, writes: writes})
	t.Logf("%d rollout samples", len(samples))
}

// waitFirstApplyUnderWay waits until some of the tenant's CAPI clusters exist, not all.
func (tn *tenant) waitFirstApplyUnderWay() {
	tn.t.Helper()
	waitFor(tn.t, convergeWait, "the first apply under way", func() (bool, string) {
		n := len(tn.capiClusters())
		return n >= 1 && n < len(tn.clusters), fmt.Sprintf("%d of %d CAPI clusters", n, len(tn.clusters))
	})
}

// appliedOnce: every L-KaaS Cluster and every KubeadmControlPlane was written once, at its
// creation (generation 1): a second apply after the restart changed no spec.
func (tn *tenant) appliedOnce() {
	t := tn.t
	var clusters automationv1alpha1.ClusterList
	require.NoError(t, mgmt.APIServer.Client.List(context.Background(), &clusters, client.InNamespace(tn.ns)))
	for _, cl := range clusters.Items {
		if cl.Generation != 1 {
			t.Errorf("invariant \"applied once\" broken: Cluster %s has generation %d", cl.Name, cl.Generation)
		}
	}
	for _, name := range tn.clusters {
		if kcp := tn.get("controlplane.cluster.x-k8s.io/v1beta2", "KubeadmControlPlane", name+"-control-plane"); kcp != nil && kcp.GetGeneration() != 1 {
			t.Errorf("invariant \"applied once\" broken: KubeadmControlPlane %s has generation %d", kcp.GetName(), kcp.GetGeneration())
		}
	}
}

// generations of every member's KubeadmControlPlane and MachineDeployments.
func (tn *tenant) generations() map[string]int64 {
	out := map[string]int64{}
	for member := range mecMembers {
		if kcp := tn.get("controlplane.cluster.x-k8s.io/v1beta2", "KubeadmControlPlane", member+"-control-plane"); kcp != nil {
			out["KubeadmControlPlane/"+kcp.GetName()] = kcp.GetGeneration()
		}
		for _, md := range tn.machineDeployments(member) {
			out["MachineDeployment/"+md.GetName()] = md.GetGeneration()
		}
	}
	return out
}

// eachStepOnce: one version step changes each control plane's and each worker pool's spec
// exactly once; a step written again after the restart would show as a second change only if
// it differed, so this also catches a step undone and redone.
func (tn *tenant) eachStepOnce(before map[string]int64) {
	after := tn.generations()
	names := make([]string, 0, len(after))
	for n := range after {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if d := after[n] - before[n]; d != 1 {
			tn.t.Errorf("invariant \"each step once\" broken: %s changed spec %d times for one version step", n, d)
		}
	}
}

func (tn *tenant) machineDeployments(member string) []unstructured.Unstructured {
	var mds unstructured.UnstructuredList
	mds.SetAPIVersion("cluster.x-k8s.io/v1beta2")
	mds.SetKind("MachineDeploymentList")
	if err := mgmt.APIServer.Client.List(context.Background(), &mds, client.InNamespace(tn.ns),
		client.MatchingLabels{"cluster.x-k8s.io/cluster-name": member}); err != nil {
		return nil
	}
	return mds.Items
}

// memberState says whether a member is upgrading to version (asked for it, not yet running it
// everywhere) or done (control plane and every worker pool up to date and ready at it).
func (tn *tenant) memberState(member, version string) (upgrading, done bool) {
	kcp := tn.get("controlplane.cluster.x-k8s.io/v1beta2", "KubeadmControlPlane", member+"-control-plane")
	if kcp == nil {
		return false, false
	}
	num := func(u *unstructured.Unstructured, path ...string) int64 {
		v, _, _ := unstructured.NestedInt64(u.Object, path...)
		return v
	}
	str := func(u *unstructured.Unstructured, path ...string) string {
		v, _, _ := unstructured.NestedString(u.Object, path...)
		return v
	}
	asked := str(kcp, "spec", "version") == version
	done = asked && str(kcp, "status", "version") == version &&
		num(kcp, "status", "upToDateReplicas") == num(kcp, "spec", "replicas") &&
		num(kcp, "status", "readyReplicas") == num(kcp, "spec", "replicas")
	for _, md := range tn.machineDeployments(member) {
		if str(&md, "spec", "template", "spec", "version") != version ||
			num(&md, "status", "upToDateReplicas") != num(&md, "spec", "replicas") ||
			num(&md, "status", "readyReplicas") != num(&md, "spec", "replicas") {
			done = false
		}
	}
	return asked && !done, done
}

// sampleWaves reads, every second until stopped, which members are upgrading to version and
// which are done; stop returns the samples.
func (tn *tenant) sampleWaves(version string) (stop func() []Sample) {
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan []Sample, 1)
	go func() {
		var samples []Sample
		for {
			s := Sample{At: time.Now()}
			for member := range mecMembers {
				upgrading, done := tn.memberState(member, version)
				if upgrading {
					s.Upgrading = append(s.Upgrading, member)
				}
				if done {
					s.Done = append(s.Done, member)
				}
			}
			slices.Sort(s.Upgrading)
			samples = append(samples, s)
			select {
			case <-ctx.Done():
				out <- samples
				return
			case <-time.After(time.Second):
			}
		}
	}()
	return func() []Sample { cancel(); return <-out }
}

// kube-apiserver is stopped while the first apply is under way and started again 5 s later
// (etcd keeps running): the same invariants as a controller restart.
func TestAPIServerRestartMidApply(t *testing.T) {
	startController(t, "lkaas-a")
	tn := newTenant(t, 4)
	tn.start()
	tn.waitFirstApplyUnderWay()
	restart(t, plane.KubeAPIServer, (plane.Part).Stop, 5*time.Second)
	ended := time.Now()
	took := tn.waitConverged(convergeWait, tn.head(), fromVersion)
	writes := tn.invariants(ended)
	tn.appliedOnce()
	record(t, result{fault: "kube-apiserver restart (etcd kept)", when: "mid first apply", converge: took, writes: writes})
}

// etcd is killed while idle and, later, while a change is being applied; each time it comes
// back with its data and the plane converges.
func TestEtcdRestart(t *testing.T) {
	startController(t, "lkaas-a")
	tn := newTenant(t, 0)
	tn.start()
	tn.waitConverged(convergeWait, tn.head(), fromVersion)

	restart(t, plane.Etcd, (plane.Part).Kill, 3*time.Second)
	ended := time.Now()
	took := tn.waitConverged(convergeWait, tn.head(), fromVersion)
	record(t, result{fault: "etcd SIGKILL, restart", when: "idle", converge: took, writes: tn.invariants(ended)})

	revision := tn.push("two more clusters", func(d string) { tn.writeExtraClusters(d, 2) })
	waitFor(t, convergeWait, "the change being applied", func() (bool, string) {
		n := len(tn.capiClusters())
		return n > len(mecMembers), fmt.Sprintf("%d CAPI clusters", n)
	})
	restart(t, plane.Etcd, (plane.Part).Kill, 3*time.Second)
	ended = time.Now()
	took = tn.waitConverged(convergeWait, revision, fromVersion)
	writes := tn.invariants(ended)
	tn.appliedOnce()
	record(t, result{fault: "etcd SIGKILL, restart", when: "mid apply of a change", converge: took, writes: writes})
}

// source-controller is down when a commit lands: nothing is applied meanwhile (no partial
// artifact), and once it is back the commit is applied.
func TestSourceControllerDownWhenACommitLands(t *testing.T) {
	startController(t, "lkaas-a")
	tn := newTenant(t, 0)
	tn.start()
	first := tn.head()
	tn.waitConverged(convergeWait, first, fromVersion)

	part, err := mgmt.Part(plane.SourceController)
	require.NoError(t, err)
	require.NoError(t, part.Stop())
	revision := tn.push("one more cluster", func(d string) { tn.writeExtraClusters(d, 1) })
	time.Sleep(15 * time.Second) // passes of the Fleet with source-controller gone
	var f automationv1alpha1.Fleet
	require.NoError(t, mgmt.APIServer.Client.Get(context.Background(), client.ObjectKeyFromObject(tn.fleet), &f))
	assert.Equal(t, first, f.Status.LastAppliedRevision, "nothing applied while source-controller is down")
	assert.Len(t, tn.capiClusters(), len(mecMembers), "no cluster of the new commit yet")
	require.NoError(t, part.Start())
	ended := time.Now()
	tn.reconcileNow()
	took := tn.waitConverged(convergeWait, revision, fromVersion)
	writes := tn.invariants(ended)
	record(t, result{fault: "source-controller down, a commit lands, back up", when: "idle", converge: took, writes: writes})
}

// The Git server refuses pushes (503) while status changes keep coming: when it accepts them
// again, the status branch ends with the final state, moved forward only (no force push),
// with no empty commit.
func TestGitRefusesPushes(t *testing.T) {
	startController(t, "lkaas-a")
	tn := newTenant(t, 0)
	tn.start()
	tn.waitConverged(convergeWait, tn.head(), fromVersion)
	waitFor(t, 2*time.Minute, "a status commit with the Ready logical cluster", func() (bool, string) {
		return tn.statusShows("logicalcluster/mec-cluster.yaml", "readyMembers: 4")
	})

	refusedBefore := gitGate.refused.Load()
	gitGate.refuse.Store(true)
	revision := tn.push("two more clusters", func(d string) { tn.writeExtraClusters(d, 2) })
	tn.waitConverged(convergeWait, revision, fromVersion)
	waitFor(t, 2*time.Minute, "pushes refused", func() (bool, string) {
		n := gitGate.refused.Load() - refusedBefore
		return n >= 2, fmt.Sprintf("%d refused", n)
	})
	gitGate.refuse.Store(false)
	ended := time.Now()
	begin := time.Now()
	for _, name := range []string{"extra-00", "extra-01"} {
		waitFor(t, 3*time.Minute, "the status branch with "+name+" Ready", func() (bool, string) {
			return tn.statusShows("cluster/"+name+".yaml", "phase: Ready")
		})
	}
	took := time.Since(begin)
	writes := tn.invariants(ended)
	record(t, result{fault: "Git server refuses pushes (503)", when: "while status changes come", converge: took, writes: writes})
	t.Logf("%d pushes refused", gitGate.refused.Load()-refusedBefore)
}

// statusShows reads a document of the status branch and reports whether it contains want.
func (tn *tenant) statusShows(doc, want string) (bool, string) {
	dir := filepath.Join(tn.t.TempDir(), "status")
	if err := gitTry(dir, tn.url); err != nil {
		return false, err.Error()
	}
	data, err := os.ReadFile(filepath.Join(dir, "status", tn.ns, doc))
	if err != nil {
		return false, err.Error()
	}
	return strings.Contains(string(data), want), string(data)
}

// EMCO answers 500, then hangs past the client's timeout, while the clusters register and
// while a member is removed: each cluster is registered exactly once, the removed member is
// deregistered before CAPI deletes it, and the retries show in the controller's metrics.
func TestEMCOFailsAndHangs(t *testing.T) {
	startController(t, "lkaas-a")
	tn := newTenant(t, 0)
	tn.emu.AddFault(emcotest.Fault{Status: 500, Times: 6})
	tn.emu.AddFault(emcotest.Fault{Latency: 35 * time.Second, Times: 2})
	tn.start()
	took := tn.waitConverged(convergeWait, tn.head(), fromVersion)
	retries := scrape(t, "lkaas-a", "workqueue_retries_total")
	assert.Positive(t, retries, "the registrars' retries show in the metrics")
	writes := tn.invariants(time.Now())
	record(t, result{fault: "EMCO 500, then hanging past the client timeout", when: "registration", converge: took, writes: writes})

	tn.emu.AddFault(emcotest.Fault{Status: 500})
	tn.push("remove gwangju", func(dir string) {
		p := filepath.Join(dir, "tenant", "mec-cluster.yaml")
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		doc := string(data)
		i := strings.Index(doc, "    - cluster:\n        name: gwangju-edge-cluster")
		require.Positive(t, i)
		require.NoError(t, os.WriteFile(p, []byte(doc[:i]), 0o644))
	})
	// The registrar must have tried to deregister gwangju, and been refused, twice more before
	// "CAPI keeps gwangju" says anything (a deregistration starts with a read of the cluster).
	refusedBefore := refused(tn.emu.Requests(), "gwangju-edge-cluster")
	waitFor(t, convergeWait, "two more refused EMCO requests for gwangju", func() (bool, string) {
		n := refused(tn.emu.Requests(), "gwangju-edge-cluster")
		return n >= refusedBefore+2, fmt.Sprintf("%d refused", n-refusedBefore)
	})
	capi := tn.get("cluster.x-k8s.io/v1beta2", "Cluster", "gwangju-edge-cluster")
	require.NotNil(t, capi, "CAPI keeps gwangju while EMCO cannot be told")
	assert.Nil(t, capi.GetDeletionTimestamp(), "CAPI does not delete gwangju while EMCO fails")
	tn.emu.ClearFaults()
	ended := time.Now()
	waitFor(t, convergeWait, "gwangju deregistered and gone", func() (bool, string) {
		_, registered := tn.emu.State().Cluster(tn.ns, "gwangju-edge-cluster")
		return !registered && tn.get("cluster.x-k8s.io/v1beta2", "Cluster", "gwangju-edge-cluster") == nil, fmt.Sprintf("registered %v", registered)
	})
	var deregistered time.Time
	for _, r := range tn.emu.Requests() {
		if r.Method == http.MethodDelete && r.Status < 300 && r.Status > 0 && strings.HasSuffix(r.Path, "/clusters/gwangju-edge-cluster") && deregistered.IsZero() {
			deregistered = r.Time
		}
	}
	report(t, "deregistered first", CheckDeregisteredFirst("gwangju-edge-cluster", deregistered,
		FirstDelete(readAudit(t), "cluster.x-k8s.io/clusters/"+tn.ns+"/gwangju-edge-cluster")))
	record(t, result{fault: "EMCO 500", when: "member removal", converge: time.Since(ended), writes: CountWrites(readAudit(t), tn.ns, ended)})
}

// Two controller replicas; the leader is SIGKILLed mid rollout: the standby takes the lease
// and finishes the rollout in wave order, and no step is written twice.
func TestLeaderKilledMidRollout(t *testing.T) {
	leader := startController(t, "lkaas-a")
	waitFor(t, time.Minute, "lkaas-a holding the lease", func() (bool, string) {
		return strings.Contains(readFile(leader.LogPath), "uccessfully acquired lease"), "no lease yet"
	})
	standby := startController(t, "lkaas-b")
	tn := newTenant(t, 0)
	tn.start()
	tn.waitConverged(convergeWait, tn.head(), fromVersion)
	assert.NotContains(t, readFile(standby.LogPath), "uccessfully acquired lease", "the standby waits")
	before := tn.generations()

	sampler := tn.sampleWaves(toVersion)
	revision := tn.setVersion(fromVersion, toVersion)
	waitFor(t, rolloutWait, "the centre upgrading", func() (bool, string) {
		upgrading, _ := tn.memberState("central-cluster", toVersion)
		return upgrading, "not yet"
	})
	// The leader's node is gone: it is not started again, so the standby must take the lease
	// once it expires and finish the rollout.
	stayDown["lkaas-a"].Store(true)
	t.Cleanup(func() { stayDown["lkaas-a"].Store(false) })
	require.NoError(t, leader.Kill())
	ended := time.Now()
	waitFor(t, 3*time.Minute, "the standby leading", func() (bool, string) {
		return strings.Contains(readFile(standby.LogPath), "uccessfully acquired lease"), "no new leader yet"
	})
	took := tn.waitConverged(rolloutWait, revision, toVersion)
	report(t, "waves", CheckWaves(sampler(), mecMembers, 1))
	tn.eachStepOnce(before)
	report(t, "one writer at a time", CheckOneWriterAtATime(readAudit(t), tn.ns))
	writes := tn.invariants(ended)
	record(t, result{fault: "two replicas, leader SIGKILL", when: "mid rollout", converge: took, writes: writes})
}

// restart injects fault into a part of the plane, waits down, and starts it again.
func restart(t *testing.T, name string, fault func(plane.Part) error, down time.Duration) {
	t.Helper()
	part, err := mgmt.Part(name)
	require.NoError(t, err)
	require.NoError(t, fault(part), "fault on %s", name)
	time.Sleep(down)
	require.NoError(t, part.Start(), "starting %s again", name)
}

func readFile(path string) string {
	data, _ := os.ReadFile(path)
	return string(data)
}

// gitTry clones the status branch into dir; an error while it does not exist yet.
func gitTry(dir, url string) error {
	_, err := testenv.Git("", "clone", "--quiet", "--branch", "lkaas/status", url, dir)
	return err
}

// refused counts EMCO's 5xx answers to requests about cluster (the registrar's attempts while
// EMCO fails).
func refused(requests []emcotest.Request, cluster string) int {
	n := 0
	for _, r := range requests {
		if r.Status >= 500 && strings.Contains(r.Path, "/clusters/"+cluster) {
			n++
		}
	}
	return n
}
