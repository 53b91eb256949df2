package controllers_test

import (
	"context"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/util/intstr"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
	"github.com/dcn-ssu/lkaas/controllers"
)

var edges = []string{"seoul-edge-cluster", "busan-edge-cluster", "gwangju-edge-cluster"}

// A version bump of all four members of the seed's mec-cluster rolls central first, then the
// edge sites, never more than maxUnavailable at once.
func TestLogicalClusterWavesRespectMaxUnavailable(t *testing.T) {
	tests := []struct {
		name           string
		maxUnavailable intstr.IntOrString
		wantMax        int
	}{
		{name: "one member at a time", maxUnavailable: intstr.FromInt32(1), wantMax: 1},
		{name: "two edge sites together", maxUnavailable: intstr.FromInt32(2), wantMax: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := startRolloutEnv(t)
			ns := e.Namespace(t)
			driver := startStatusDriver(t, e, ns, 300*time.Millisecond)
			lc := mecCluster(ns, tt.maxUnavailable, 0)
			require.NoError(t, e.Client.Create(context.Background(), lc))
			waitLogicalCluster(t, e, lc, "became Ready", allReady)
			permits, _ := driver.observed()
			require.Empty(t, permits, "first renders need no permit")

			setVersion(t, e, lc, "v1.35.0")
			var waves []int32
			var phases []automationv1alpha1.ClusterPhase
			got := waitLogicalCluster(t, e, lc, "rolled out v1.35.0", func(got *intentv1.LogicalCluster) bool {
				if w := got.Status.CurrentWave; w != nil && (len(waves) == 0 || waves[len(waves)-1] != *w) {
					waves = append(waves, *w)
				}
				if len(phases) == 0 || phases[len(phases)-1] != got.Status.Phase {
					phases = append(phases, got.Status.Phase)
				}
				return allReady(got) && got.Status.Members[3].KubernetesVersion == "v1.35.0"
			})

			permits, maxInFlight := driver.observed()
			t.Logf("permit order %v, max members in flight %d, waves seen %v, phases seen %v", permits, maxInFlight, waves, phases)
			assert.Equal(t, tt.wantMax, maxInFlight, "members permitted and not done at once")
			require.Len(t, permits, 4)
			assert.Equal(t, "central-cluster", permits[0], "wave 0 first")
			assert.ElementsMatch(t, edges, permits[1:])
			_, centralDone := driver.times("central-cluster")
			for _, e := range edges {
				permitted, done := driver.times(e)
				assert.True(t, permitted.After(centralDone), "%s permitted before wave 0 was done", e)
				assert.False(t, done.IsZero(), "%s never done", e)
			}
			assert.Equal(t, []int32{0, 1}, waves)
			assert.Contains(t, phases, automationv1alpha1.ClusterPhaseUpgrading)

			// The status columns at the end.
			assert.Equal(t, automationv1alpha1.ClusterPhaseReady, got.Status.Phase)
			assert.Equal(t, int32(4), got.Status.ReadyMembers)
			assert.Equal(t, int32(4), got.Status.TotalMembers)
			assert.Nil(t, got.Status.CurrentWave)
			for i, m := range got.Status.Members {
				assert.Equal(t, lc.Spec.Clusters[i].Name, m.Name, "members in spec order")
				assert.Equal(t, lc.Spec.Clusters[i].Wave, m.Wave)
				assert.Equal(t, "v1.35.0", m.KubernetesVersion)
				assert.False(t, m.Pending)
				assert.False(t, m.Registered)
			}
			for _, name := range append([]string{"central-cluster"}, edges...) {
				_, ok := memberCluster(t, e, ns, name).Annotations[controllers.RolloutPermitTimeAnnotation]
				assert.False(t, ok, "%s keeps its permit time after it is done", name)
			}
		})
	}
}

// A member that fails on its new render halts the rollout: a clear condition, no more permits.
func TestLogicalClusterFailedMemberHaltsRollout(t *testing.T) {
	e := startRolloutEnv(t)
	ns := e.Namespace(t)
	driver := startStatusDriver(t, e, ns, 200*time.Millisecond)
	driver.failing("seoul-edge-cluster", "control plane machine did not join")
	lc := mecCluster(ns, intstr.FromInt32(1), 0)
	require.NoError(t, e.Client.Create(context.Background(), lc))
	waitLogicalCluster(t, e, lc, "became Ready", allReady)

	setVersion(t, e, lc, "v1.35.0")
	// The patch helper writes conditions and the rest of the status in two requests.
	got := waitLogicalCluster(t, e, lc, "halted", func(got *intentv1.LogicalCluster) bool {
		return conditions.IsTrue(got, controllers.RolloutHaltedCondition) && got.Status.Phase == automationv1alpha1.ClusterPhaseFailed
	})
	halted := conditions.Get(got, controllers.RolloutHaltedCondition)
	assert.Equal(t, controllers.RolloutMemberFailedReason, halted.Reason)
	assert.Contains(t, halted.Message, "seoul-edge-cluster failed: control plane machine did not join")
	ready := conditions.Get(got, meta.ReadyCondition)
	assert.Equal(t, controllers.ReasonRolloutHalted, ready.Reason)
	assert.True(t, conditions.IsStalled(got))
	assert.Equal(t, automationv1alpha1.ClusterPhaseFailed, got.Status.Phase)
	require.NotNil(t, got.Status.CurrentWave)
	assert.Equal(t, int32(1), *got.Status.CurrentWave)

	time.Sleep(time.Second) // time enough for a wrong permit
	permits, _ := driver.observed()
	assert.Equal(t, []string{"central-cluster", "seoul-edge-cluster"}, permits, "no permit after the halt")
	for _, name := range edges[1:] {
		c := memberCluster(t, e, ns, name)
		assert.Empty(t, c.Annotations[automationv1alpha1.RolloutPermitAnnotation], "%s got a permit", name)
	}
	statuses := lcState(t, e, lc).Status.Members
	assert.True(t, statuses[2].Pending)
	assert.True(t, statuses[3].Pending)

	// A fix (a new change of the failed member) resumes the rollout.
	driver.heal("seoul-edge-cluster")
	setVersion(t, e, lc, "v1.35.1")
	waitLogicalCluster(t, e, lc, "resumed and rolled out v1.35.1", func(got *intentv1.LogicalCluster) bool {
		return allReady(got) && got.Status.Members[3].KubernetesVersion == "v1.35.1"
	})
	assert.False(t, conditions.Has(lcState(t, e, lc), controllers.RolloutHaltedCondition))
	_, maxInFlight := driver.observed()
	assert.Equal(t, 1, maxInFlight)
}

// A member that is not done within spec.rollout.timeout halts the rollout.
func TestLogicalClusterRolloutTimeoutHalts(t *testing.T) {
	e := startRolloutEnv(t)
	ns := e.Namespace(t)
	driver := startStatusDriver(t, e, ns, 100*time.Millisecond)
	driver.hanging("central-cluster")
	lc := mecCluster(ns, intstr.FromInt32(1), 2*time.Second)
	require.NoError(t, e.Client.Create(context.Background(), lc))
	waitLogicalCluster(t, e, lc, "became Ready", allReady)

	setVersion(t, e, lc, "v1.35.0")
	got := waitLogicalCluster(t, e, lc, "halted on the timeout", func(got *intentv1.LogicalCluster) bool {
		return conditions.IsTrue(got, controllers.RolloutHaltedCondition)
	})
	halted := conditions.Get(got, controllers.RolloutHaltedCondition)
	assert.Equal(t, controllers.RolloutTimedOutReason, halted.Reason)
	assert.Contains(t, halted.Message, "central-cluster was not Ready on its new render within 2s")
	permits, _ := driver.observed()
	assert.Equal(t, []string{"central-cluster"}, permits, "wave 1 never starts")
}
