package controllers_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
	"github.com/dcn-ssu/lkaas/internal/apply"
	"github.com/dcn-ssu/lkaas/internal/testenv"
)

// Each member becomes a Cluster owned by the LogicalCluster, with its labels, the Fleet's
// labels and the source revision; a member removed from the spec is deleted.
func TestLogicalClusterMembersFollowSpec(t *testing.T) {
	ctx := context.Background()
	e := startRolloutEnv(t)
	ns := e.Namespace(t)
	lc := mecCluster(ns, intstr.FromInt32(1), 0)
	lc.Labels = map[string]string{apply.FleetNameLabel: "fleet", apply.FleetNamespaceLabel: ns}
	lc.Annotations = map[string]string{automationv1alpha1.SourceRevisionAnnotation: "main@sha1:1234"}
	require.NoError(t, e.Client.Create(ctx, lc))

	require.Eventually(t, func() bool { return len(memberNames(t, e, ns)) == 4 }, defaultWait, tick)
	for _, m := range lc.Spec.Clusters {
		c := memberCluster(t, e, ns, m.Name)
		owner := metav1.GetControllerOf(c)
		require.NotNil(t, owner, "%s has no controller", m.Name)
		assert.Equal(t, intentv1.LogicalClusterKind, owner.Kind)
		assert.Equal(t, lc.UID, owner.UID)
		assert.Equal(t, lc.Name, c.Labels[automationv1alpha1.LogicalClusterLabel])
		assert.Equal(t, "fleet", c.Labels[apply.FleetNameLabel])
		assert.Equal(t, ns, c.Labels[apply.FleetNamespaceLabel])
		assert.Equal(t, m.Labels[automationv1alpha1.LocationLabel], c.Labels[automationv1alpha1.LocationLabel])
		assert.Equal(t, "main@sha1:1234", c.Annotations[automationv1alpha1.SourceRevisionAnnotation])
		assert.Equal(t, "openstack-medium-catalog", c.Spec.ClusterCatalog)
		assert.Equal(t, "starlab", c.Spec.Tenant)
	}
	got := waitLogicalCluster(t, e, lc, "reported its members", func(got *intentv1.LogicalCluster) bool {
		return got.Status.TotalMembers == 4 && got.Status.ObservedGeneration == got.Generation
	})
	// No status driver here: the members are never Ready.
	assert.Equal(t, automationv1alpha1.ClusterPhaseProvisioning, got.Status.Phase)
	assert.Equal(t, int32(0), got.Status.ReadyMembers)
	assert.Equal(t, "main@sha1:1234", got.Status.SourceRevision)

	cur := lcState(t, e, lc)
	p := client.MergeFrom(cur.DeepCopy())
	cur.Spec.Clusters = cur.Spec.Clusters[:3]
	require.NoError(t, e.Client.Patch(ctx, cur, p))
	require.Eventually(t, func() bool {
		return assert.ObjectsAreEqual([]string{"busan-edge-cluster", "central-cluster", "seoul-edge-cluster"}, memberNames(t, e, ns))
	}, defaultWait, tick, "the removed member is deleted")
	waitLogicalCluster(t, e, lc, "counted three members", func(got *intentv1.LogicalCluster) bool {
		return got.Status.TotalMembers == 3 && len(got.Status.Members) == 3
	})
}

// Once everything is Ready, a reconcile of the LogicalCluster writes nothing.
func TestLogicalClusterSteadyStateMakesNoWrites(t *testing.T) {
	ctx := context.Background()
	e := startRolloutEnv(t)
	ns := e.Namespace(t)
	driver := startStatusDriver(t, e, ns, 50*time.Millisecond)
	lc := mecCluster(ns, intstr.FromInt32(1), 0)
	require.NoError(t, e.Client.Create(ctx, lc))
	waitLogicalCluster(t, e, lc, "became Ready", allReady)
	driver.stop()

	// An annotation change wakes the controller without a spec change; each poke waits for
	// the pass it causes. The first settles what the driver's last updates started.
	poke := func(value string) {
		cur := lcState(t, e, lc)
		p := client.MergeFrom(cur.DeepCopy())
		if cur.Annotations == nil {
			cur.Annotations = map[string]string{}
		}
		cur.Annotations["test/poke"] = value
		passes := lcReconciles(t)
		require.NoError(t, e.Client.Patch(ctx, cur, p))
		require.Eventually(t, func() bool { return lcReconciles(t) > passes }, defaultWait, tick, "a pass after poke %s", value)
	}
	poke("settle")
	before, passes := lcWrites(t, e), lcReconciles(t)
	for i := range 3 {
		poke(strconv.Itoa(i))
	}
	after, passes2 := lcWrites(t, e), lcReconciles(t)
	t.Logf("%.0f reconciles, writes before %+v after %+v", passes2-passes, before, after)
	assert.Equal(t, before.members, after.members, "member Cluster writes in steady state")
	assert.Equal(t, before.status, after.status, "LogicalCluster status writes in steady state")
}

// writeCounts are the API server's write requests on member Clusters and on LogicalCluster
// status, from apiserver_request_total.
type writeCounts struct{ members, status float64 }

func lcWrites(t testing.TB, e *testenv.Env) writeCounts {
	t.Helper()
	samples, err := e.APIRequests()
	require.NoError(t, err)
	var c writeCounts
	for _, q := range samples {
		switch {
		case q.Read():
		case q.Resource == "clusters" && q.Subresource == "":
			c.members += q.Count
		case q.Resource == "logicalclusters" && q.Subresource == "status":
			c.status += q.Count
		}
	}
	return c
}

// lcReconciles counts the LogicalCluster controller's reconciles.
func lcReconciles(t testing.TB) float64 {
	t.Helper()
	families, err := metrics.Registry.Gather()
	require.NoError(t, err)
	var n float64
	for _, fam := range families {
		if fam.GetName() != "controller_runtime_reconcile_total" {
			continue
		}
		for _, m := range fam.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "controller" && l.GetValue() == "logicalcluster" {
					n += m.GetCounter().GetValue()
				}
			}
		}
	}
	return n
}

// The manager of the suite (internal/manager) runs the LogicalCluster controller: members
// appear, owned by their LogicalCluster. (The suite's Cluster controller renders them too, so
// their status is not this test's business.)
func TestLogicalClusterControllerIsRegistered(t *testing.T) {
	ns := env.Namespace(t)
	lc := mecCluster(ns, intstr.FromInt32(1), 0)
	require.NoError(t, env.Client.Create(context.Background(), lc))
	require.Eventually(t, func() bool {
		names := memberNames(t, env, ns)
		if len(names) != 4 {
			return false
		}
		for _, name := range names {
			if metav1.GetControllerOf(memberCluster(t, env, ns, name)) == nil {
				return false
			}
		}
		return true
	}, defaultWait, tick)
}
