package controllers_test

import (
	"context"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/controllers"
	"github.com/dcn-ssu/lkaas/internal/render"
)

const (
	minSize = render.AutoscalerMinSizeAnnotation
	maxSize = render.AutoscalerMaxSizeAnnotation
	// autoscalerManager is the field manager the test's stand-in for the cluster autoscaler
	// writes replicas with.
	autoscalerManager = "cluster-autoscaler"
)

// autoscalerFleetFiles is a fleet repository with the CAPD in-memory template and one
// cluster whose worker values come from workers (a YAML flow map for the cluster's override).
func autoscalerFleetFiles(t *testing.T, workers string) map[string]string {
	t.Helper()
	tmpl, err := os.ReadFile("../gitops-examples/fleet-repo/templates/docker-inmemory/cluster-template.yaml")
	require.NoError(t, err)
	return map[string]string{
		"templates/inmemory.yaml": string(tmpl),
		"profiles/inmemory.yaml": `apiVersion: automation.dcn.ssu.ac.kr/v1alpha1
kind: InfrastructureProfile
metadata:
  name: inmemory
spec:
  profileName: inmemory
  type: Infrastructure
  revision: 1.0.0
  template: {path: templates/inmemory.yaml}
  values:
    kubernetesVersion: v1.34.1
    controlPlaneMachineCount: 1
    workerMachineCount: 2
`,
		"clusters/edge.yaml": `apiVersion: automation.dcn.ssu.ac.kr/v1alpha1
kind: Cluster
metadata:
  name: edge
spec:
  infrastructure:
    provider: docker
    profile: {name: inmemory, type: Infrastructure, revision: 1.0.0}
  override: ` + workers + `
`,
	}
}

// The cluster autoscaler owns the workers' count of a pool given a range: its change is not
// drift, so neither the Fleet nor the Cluster controller writes anything after it, and an
// unrelated re-apply of the MachineDeployment keeps it. A pool switches between a fixed count
// and a range both ways: to a count, L-KaaS takes replicas back and sets the count; to a
// range, the running count stays, clamped into the range, and L-KaaS lets go of it.
func TestAutoscalerOwnsTheWorkersCount(t *testing.T) {
	ns := env.Namespace(t)
	r := newRepo(t, ns, "fleet-repo")
	f := newFleet(t, r)
	rev := r.push(t, autoscalerFleetFiles(t, `{workerMachineMinCount: 1, workerMachineMaxCount: 5}`))
	waitApplied(t, f, rev)
	c := &automationv1alpha1.Cluster{}
	c.Namespace, c.Name = ns, "edge"

	md := waitMachineDeployment(t, ns, "a new pool starts at the range's minimum", func(md *unstructured.Unstructured) bool {
		return replicas(md) == 1 && md.GetAnnotations()[minSize] == "1" && md.GetAnnotations()[maxSize] == "5"
	})

	// The autoscaler scales the pool up, as it would, under its own field manager.
	scaleAsAutoscaler(t, md, 4)
	assert.False(t, fieldOwner(t, ns, md.GetName(), "lkaas"), "after the autoscaler's change L-KaaS owns no replicas")

	// The passes the first apply and the scaling woke are over when a poke writes nothing.
	require.Eventually(t, func() bool { return pokeWritesNothing(t, c, "settle") }, defaultWait, tick, "the cluster settles")

	t.Run("a Fleet pass writes nothing", func(t *testing.T) {
		before := versionsOf(t, f, c, md)
		requestFleetPass(t, f)
		after := versionsOf(t, f, c, md)
		assert.Equal(t, before, after, "objects the Fleet or the cluster applied")
		t.Logf("objects written by the Fleet pass after the autoscaler's change: %d of %d", changed(before, after), len(before))
	})
	t.Run("a Cluster pass writes nothing", func(t *testing.T) {
		assert.True(t, pokeWritesNothing(t, c, "after-autoscaler"), "the autoscaler's count is not drift")
		assert.Equal(t, int64(4), replicas(machineDeployment(t, ns)))
	})
	t.Run("a re-apply of the MachineDeployment keeps the autoscaler's count", func(t *testing.T) {
		rev := r.push(t, autoscalerFleetFiles(t, `{workerMachineMinCount: 1, workerMachineMaxCount: 6}`))
		waitApplied(t, f, rev)
		md := waitMachineDeployment(t, ns, "the new range applied", func(md *unstructured.Unstructured) bool {
			return md.GetAnnotations()[maxSize] == "6"
		})
		assert.Equal(t, int64(4), replicas(md))
	})
	t.Run("range to count: L-KaaS sets the count", func(t *testing.T) {
		rev := r.push(t, autoscalerFleetFiles(t, `{workerMachineCount: 3}`))
		waitApplied(t, f, rev)
		md := waitMachineDeployment(t, ns, "the fixed count applied", func(md *unstructured.Unstructured) bool {
			_, hasMin := md.GetAnnotations()[minSize]
			_, hasMax := md.GetAnnotations()[maxSize]
			return replicas(md) == 3 && !hasMin && !hasMax
		})
		assert.True(t, fieldOwner(t, ns, md.GetName(), "lkaas"), "L-KaaS owns a fixed count")
		assert.Empty(t, md.GetAnnotations()[controllers.AutoscalerReplicasAnnotation], "a fixed count is not the autoscaler's")
	})
	t.Run("count to range: the running count stays, clamped into the range, and L-KaaS lets go", func(t *testing.T) {
		rev := r.push(t, autoscalerFleetFiles(t, `{workerMachineMinCount: 5, workerMachineMaxCount: 8}`))
		waitApplied(t, f, rev)
		md := waitMachineDeployment(t, ns, "the range applied", func(md *unstructured.Unstructured) bool {
			return md.GetAnnotations()[minSize] == "5" && md.GetAnnotations()[maxSize] == "8"
		})
		assert.Equal(t, int64(5), replicas(md), "3 workers raised to the new minimum")
		assert.False(t, fieldOwner(t, ns, md.GetName(), "lkaas"), "L-KaaS gave up replicas")
		assert.True(t, fieldOwner(t, ns, md.GetName(), controllers.AutoscalerHandoverFieldManager), "held for the autoscaler")

		scaleAsAutoscaler(t, md, 7)
		assert.Eventually(t, func() bool { return pokeWritesNothing(t, c, "settle-2") }, defaultWait, tick)
		assert.True(t, pokeWritesNothing(t, c, "after-autoscaler-2"))
		assert.Equal(t, int64(7), replicas(machineDeployment(t, ns)))
	})
	t.Run("back to a fixed count after the autoscaler moved it", func(t *testing.T) {
		rev := r.push(t, autoscalerFleetFiles(t, `{workerMachineCount: 2}`))
		waitApplied(t, f, rev)
		waitMachineDeployment(t, ns, "the fixed count applied again", func(md *unstructured.Unstructured) bool {
			return replicas(md) == 2 && md.GetAnnotations()[minSize] == ""
		})
	})
}

// A pool L-KaaS created at the range's minimum, which the autoscaler has not scaled yet, is
// the other hand-over: L-KaaS still owns the count it set at creation, and its next apply
// (without replicas) would delete it. The cache holds no managed fields; the pool's
// annotation says that L-KaaS has not let go yet, so that apply reads the owner from the API
// server and hands the count over. Afterwards the annotation says L-KaaS let go, and later
// applies keep the autoscaler's count without that read.
func TestAutoscalerTakesOverAPoolLKaaSCreated(t *testing.T) {
	ns := env.Namespace(t)
	r := newRepo(t, ns, "fleet-repo")
	f := newFleet(t, r)
	rev := r.push(t, autoscalerFleetFiles(t, `{workerMachineMinCount: 2, workerMachineMaxCount: 5}`))
	waitApplied(t, f, rev)
	md := waitMachineDeployment(t, ns, "created at the range's minimum", func(md *unstructured.Unstructured) bool {
		return replicas(md) == 2 && md.GetAnnotations()[maxSize] == "5"
	})
	assert.True(t, fieldOwner(t, ns, md.GetName(), "lkaas"), "L-KaaS owns the count it created the pool with")
	assert.Empty(t, md.GetAnnotations()[controllers.AutoscalerReplicasAnnotation], "not let go of yet")

	rev = r.push(t, autoscalerFleetFiles(t, `{workerMachineMinCount: 2, workerMachineMaxCount: 6}`))
	waitApplied(t, f, rev)
	md = waitMachineDeployment(t, ns, "re-applied with the new range", func(md *unstructured.Unstructured) bool {
		return md.GetAnnotations()[maxSize] == "6"
	})
	assert.Equal(t, int64(2), replicas(md), "the count survives L-KaaS's apply without replicas")
	assert.False(t, fieldOwner(t, ns, md.GetName(), "lkaas"), "L-KaaS let go of replicas")
	assert.True(t, fieldOwner(t, ns, md.GetName(), controllers.AutoscalerHandoverFieldManager), "held for the autoscaler")
	assert.Equal(t, "autoscaler", md.GetAnnotations()[controllers.AutoscalerReplicasAnnotation])

	scaleAsAutoscaler(t, md, 3)
	rev = r.push(t, autoscalerFleetFiles(t, `{workerMachineMinCount: 2, workerMachineMaxCount: 7}`))
	waitApplied(t, f, rev)
	md = waitMachineDeployment(t, ns, "re-applied again", func(md *unstructured.Unstructured) bool {
		return md.GetAnnotations()[maxSize] == "7"
	})
	assert.Equal(t, int64(3), replicas(md), "the autoscaler's count stays")
	assert.Equal(t, "autoscaler", md.GetAnnotations()[controllers.AutoscalerReplicasAnnotation])
}

func machineDeployment(t *testing.T, ns string) *unstructured.Unstructured {
	t.Helper()
	mds := listCAPI(t, ns, "cluster.x-k8s.io/v1beta2", "MachineDeployment")
	require.Len(t, mds, 1)
	return &mds[0]
}

func waitMachineDeployment(t *testing.T, ns, what string, ok func(*unstructured.Unstructured) bool) *unstructured.Unstructured {
	t.Helper()
	var md *unstructured.Unstructured
	if !assert.Eventually(t, func() bool {
		mds := listCAPI(t, ns, "cluster.x-k8s.io/v1beta2", "MachineDeployment")
		if len(mds) != 1 {
			return false
		}
		md = &mds[0]
		return ok(md)
	}, defaultWait, tick) {
		t.Fatalf("MachineDeployment: never %s: %v", what, md)
	}
	return md
}

func replicas(md *unstructured.Unstructured) int64 {
	n, ok, _ := unstructured.NestedInt64(md.Object, "spec", "replicas")
	if !ok {
		return -1
	}
	return n
}

// scaleAsAutoscaler sets the MachineDeployment's replicas the way the cluster autoscaler's
// Cluster API provider does: through the scale subresource, under its own field manager.
func scaleAsAutoscaler(t *testing.T, md *unstructured.Unstructured, n int64) {
	t.Helper()
	patch := client.RawPatch("application/merge-patch+json", []byte(`{"spec":{"replicas":`+strconv.FormatInt(n, 10)+`}}`))
	require.NoError(t, env.Client.SubResource("scale").Patch(context.Background(), md.DeepCopy(), patch, client.FieldOwner(autoscalerManager)))
	waitMachineDeployment(t, md.GetNamespace(), "scaled", func(md *unstructured.Unstructured) bool { return replicas(md) == n })
}

// fieldOwner says whether the manager owns the MachineDeployment's spec.replicas.
func fieldOwner(t *testing.T, ns, name, manager string) bool {
	t.Helper()
	md, err := capiObject(t, ns, "cluster.x-k8s.io/v1beta2", "MachineDeployment", name)
	require.NoError(t, err)
	for _, mf := range md.GetManagedFields() {
		if mf.Manager == manager && mf.FieldsV1 != nil && containsReplicas(mf.FieldsV1.GetRawBytes()) {
			return true
		}
	}
	return false
}

func containsReplicas(fieldsV1 []byte) bool {
	var fields map[string]any
	if err := json.Unmarshal(fieldsV1, &fields); err != nil {
		return false
	}
	_, ok, _ := unstructured.NestedFieldNoCopy(fields, "f:spec", "f:replicas")
	return ok
}

// versionsOf reads the resourceVersions of the Fleet's inventory, the L-KaaS Cluster and
// the MachineDeployment.
func versionsOf(t *testing.T, f *automationv1alpha1.Fleet, c *automationv1alpha1.Cluster, md *unstructured.Unstructured) map[string]string {
	t.Helper()
	out := map[string]string{}
	got := lkCluster(t, c)
	out["Cluster/"+got.Name] = got.ResourceVersion
	for k, v := range appliedVersions(t, got) {
		out[k] = v
	}
	fleet := fleetState(t, f)
	for _, e := range fleet.Status.Inventory.Entries {
		parts := strings.Split(e.ID, "_")
		require.Len(t, parts, 4, e.ID)
		u := &unstructured.Unstructured{}
		u.SetAPIVersion(strings.TrimPrefix(parts[2]+"/"+e.Version, "/"))
		u.SetKind(parts[3])
		require.NoError(t, env.Client.Get(context.Background(), client.ObjectKey{Namespace: parts[0], Name: parts[1]}, u))
		out["fleet/"+parts[3]+"/"+parts[1]] = u.GetResourceVersion()
	}
	live, err := capiObject(t, md.GetNamespace(), "cluster.x-k8s.io/v1beta2", "MachineDeployment", md.GetName())
	require.NoError(t, err)
	out["MachineDeployment/"+md.GetName()] = live.GetResourceVersion()
	return out
}

func changed(a, b map[string]string) int {
	n := 0
	for k, v := range a {
		if b[k] != v {
			n++
		}
	}
	return n
}

// requestFleetPass asks the Fleet for a pass and waits until it handled it.
func requestFleetPass(t *testing.T, f *automationv1alpha1.Fleet) {
	t.Helper()
	cur := fleetState(t, f)
	p := client.MergeFrom(cur.DeepCopy())
	token := time.Now().Format(time.RFC3339Nano)
	if cur.Annotations == nil {
		cur.Annotations = map[string]string{}
	}
	cur.Annotations[meta.ReconcileRequestAnnotation] = token
	require.NoError(t, env.Client.Patch(context.Background(), cur, p))
	require.Eventually(t, func() bool { return fleetState(t, f).Status.LastHandledReconcileAt == token }, defaultWait, tick)
}

// In topology mode the range goes on the CAPI Cluster's machineDeployments entry and its
// replicas come off (the topology controller then leaves the MachineDeployment's count to the
// autoscaler); a fixed count puts replicas back and takes the annotations off, both ways.
func TestAutoscalerRangeInTopologyMode(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t)
	p := &automationv1alpha1.InfrastructureProfile{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "inmemory-class"},
		Spec: automationv1alpha1.InfrastructureProfileSpec{ProfileName: "inmemory-class", Type: automationv1alpha1.InfrastructureProfileType,
			Revision: "1.0.0", ClusterClass: &automationv1alpha1.ClusterClassReference{Name: "in-memory"},
			Values: &apiextensionsv1.JSON{Raw: []byte(`{"kubernetesVersion":"v1.34.1","workerMachineCount":2}`)}},
	}
	require.NoError(t, env.Client.Create(ctx, p))
	c := newCluster(t, ns, "core", func(c *automationv1alpha1.Cluster) {
		c.Spec.Infrastructure.Profile.Name = "inmemory-class"
		c.Spec.Network = nil
		c.Spec.Override = &apiextensionsv1.JSON{Raw: []byte(`{"workerMachineMinCount":1,"workerMachineMaxCount":3}`)}
	})
	pool := func() map[string]any {
		u, err := capiObject(t, ns, "cluster.x-k8s.io/v1beta2", "Cluster", "core")
		if err != nil {
			return nil
		}
		mds, _, _ := unstructured.NestedSlice(u.Object, "spec", "topology", "workers", "machineDeployments")
		if len(mds) != 1 {
			return nil
		}
		return mds[0].(map[string]any)
	}
	autoscaled := func(lo, hi string) func() bool {
		return func() bool {
			md := pool()
			a, _, _ := unstructured.NestedStringMap(md, "metadata", "annotations")
			_, hasReplicas := md["replicas"]
			return md != nil && !hasReplicas && a[minSize] == lo && a[maxSize] == hi
		}
	}
	fixed := func(n int64) func() bool {
		return func() bool {
			md := pool()
			a, _, _ := unstructured.NestedStringMap(md, "metadata", "annotations")
			_, hasMin := a[minSize]
			return md != nil && md["replicas"] == n && !hasMin
		}
	}
	setOverride := func(raw string) {
		require.NoError(t, retry.RetryOnConflict(retry.DefaultRetry, func() error {
			got := lkCluster(t, c)
			got.Spec.Override = &apiextensionsv1.JSON{Raw: []byte(raw)}
			return env.Client.Update(ctx, got)
		}))
	}
	assert.Eventually(t, autoscaled("1", "3"), defaultWait, tick, "a range: annotations, no replicas")
	setOverride(`{"workerMachineCount":4}`)
	assert.Eventually(t, fixed(4), defaultWait, tick, "range to count")
	setOverride(`{"workerMachineMinCount":2,"workerMachineMaxCount":6}`)
	assert.Eventually(t, autoscaled("2", "6"), defaultWait, tick, "count to range")
}
