package controllers

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
)

var rolloutNow = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// Member shapes the planner tells apart.
func doneMember(name string, wave int32) memberRollout {
	return memberRollout{Name: name, Wave: wave, RenderHash: "new", AppliedRenderHash: "new", Permit: "new",
		Phase: automationv1alpha1.ClusterPhaseReady, Healthy: true}
}

func waitingMember(name string, wave int32) memberRollout {
	return memberRollout{Name: name, Wave: wave, RenderHash: "new", AppliedRenderHash: "old",
		Phase: automationv1alpha1.ClusterPhaseReady, Healthy: true}
}

func inFlightMember(name string, wave int32, since time.Duration) memberRollout {
	return memberRollout{Name: name, Wave: wave, RenderHash: "new", AppliedRenderHash: "new", Permit: "new",
		PermitTime: rolloutNow.Add(-since), Phase: automationv1alpha1.ClusterPhaseUpgrading}
}

func memberWith(m memberRollout, mutate func(*memberRollout)) memberRollout {
	mutate(&m)
	return m
}

func TestPlanRollout(t *testing.T) {
	wave := func(w int32) *int32 { return &w }
	tests := []struct {
		name    string
		members []memberRollout
		max     int
		want    rolloutPlan
	}{
		{
			name:    "nothing pending: no wave, no permit",
			members: []memberRollout{doneMember("a", 0), doneMember("b", 1)},
			max:     1,
			want:    rolloutPlan{},
		},
		{
			name: "new members need no permit",
			members: []memberRollout{
				{Name: "a"}, {Name: "b", RenderHash: "h", Phase: automationv1alpha1.ClusterPhaseProvisioning},
			},
			max:  1,
			want: rolloutPlan{},
		},
		{
			name:    "lowest wave first, spec order within it, one at a time",
			members: []memberRollout{waitingMember("edge-1", 1), waitingMember("central", 0), waitingMember("edge-2", 1)},
			max:     1,
			want:    rolloutPlan{Grant: []string{"central"}, CurrentWave: wave(0)},
		},
		{
			name:    "the next wave waits for every member of the current one",
			members: []memberRollout{inFlightMember("central", 0, time.Minute), waitingMember("edge-1", 1)},
			max:     2,
			want:    rolloutPlan{CurrentWave: wave(0), InFlight: 1, RecheckAfter: 29 * time.Minute},
		},
		{
			name:    "a done wave lets the next start and settles its permits",
			members: []memberRollout{memberWith(doneMember("central", 0), func(m *memberRollout) { m.PermitTime = rolloutNow }), waitingMember("edge-1", 1), waitingMember("edge-2", 1), waitingMember("edge-3", 1)},
			max:     2,
			want:    rolloutPlan{Grant: []string{"edge-1", "edge-2"}, Settle: []string{"central"}, CurrentWave: wave(1)},
		},
		{
			name:    "maxUnavailable counts the members in flight",
			members: []memberRollout{inFlightMember("edge-1", 1, time.Minute), waitingMember("edge-2", 1), waitingMember("edge-3", 1)},
			max:     2,
			want:    rolloutPlan{Grant: []string{"edge-2"}, CurrentWave: wave(1), InFlight: 1, RecheckAfter: 29 * time.Minute},
		},
		{
			name:    "full: no permit",
			members: []memberRollout{inFlightMember("edge-1", 1, time.Minute), waitingMember("edge-2", 1)},
			max:     1,
			want:    rolloutPlan{CurrentWave: wave(1), InFlight: 1, RecheckAfter: 29 * time.Minute},
		},
		{
			name: "applied but not yet healthy is still in flight",
			members: []memberRollout{
				memberWith(inFlightMember("a", 0, time.Minute), func(m *memberRollout) { m.Phase = automationv1alpha1.ClusterPhaseReady }),
				waitingMember("b", 0),
			},
			max:  1,
			want: rolloutPlan{CurrentWave: wave(0), InFlight: 1, RecheckAfter: 29 * time.Minute},
		},
		{
			name: "a failed member halts the rollout",
			members: []memberRollout{
				memberWith(inFlightMember("busan", 1, time.Minute), func(m *memberRollout) {
					m.Phase, m.Message = automationv1alpha1.ClusterPhaseFailed, "control plane did not come up"
				}),
				waitingMember("gwangju", 1),
			},
			max: 2,
			want: rolloutPlan{CurrentWave: wave(1), InFlight: 1, Halt: &rolloutHalt{Member: "busan", Wave: 1,
				Reason: RolloutMemberFailedReason, Detail: "failed: control plane did not come up"}},
		},
		{
			name:    "a member late past the timeout halts the rollout",
			members: []memberRollout{inFlightMember("seoul", 1, 31*time.Minute), waitingMember("busan", 1)},
			max:     2,
			want: rolloutPlan{CurrentWave: wave(1), InFlight: 1, Halt: &rolloutHalt{Member: "seoul", Wave: 1,
				Reason: RolloutTimedOutReason, Detail: "was not Ready on its new render within 30m0s of its permit"}},
		},
		{
			name: "a new change of the halted member resumes",
			members: []memberRollout{
				memberWith(inFlightMember("busan", 1, time.Minute), func(m *memberRollout) {
					m.Phase, m.RenderHash = automationv1alpha1.ClusterPhaseFailed, "fix"
				}),
				waitingMember("gwangju", 1),
			},
			max:  1,
			want: rolloutPlan{Grant: []string{"busan"}, CurrentWave: wave(1)},
		},
		{
			name:    "a failed member outside a rollout does not halt",
			members: []memberRollout{memberWith(doneMember("a", 0), func(m *memberRollout) { m.Phase = automationv1alpha1.ClusterPhaseFailed }), waitingMember("b", 0)},
			max:     1,
			want:    rolloutPlan{Grant: []string{"b"}, CurrentWave: wave(0)},
		},
		{
			name: "a member that is done forgets its permit time, even if it falls ill later",
			members: []memberRollout{
				memberWith(doneMember("a", 0), func(m *memberRollout) { m.Phase = automationv1alpha1.ClusterPhaseProvisioning }),
				waitingMember("b", 0),
			},
			max:  1,
			want: rolloutPlan{Grant: []string{"b"}, CurrentWave: wave(0)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := planRollout(tt.members, tt.max, DefaultRolloutTimeout, rolloutNow)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestRolloutLimits(t *testing.T) {
	members := func(n int) []intentv1.MemberCluster { return make([]intentv1.MemberCluster, n) }
	tests := []struct {
		name        string
		members     int
		rollout     *intentv1.Rollout
		wantMax     int
		wantTimeout time.Duration
	}{
		{name: "defaults", members: 4, wantMax: 1, wantTimeout: 30 * time.Minute},
		{name: "a count", members: 4, rollout: &intentv1.Rollout{MaxUnavailable: rolloutPtr(intstr.FromInt32(2))}, wantMax: 2, wantTimeout: 30 * time.Minute},
		{name: "a share rounds down", members: 10, rollout: &intentv1.Rollout{MaxUnavailable: rolloutPtr(intstr.FromString("25%"))}, wantMax: 2, wantTimeout: 30 * time.Minute},
		{name: "a share is at least one", members: 3, rollout: &intentv1.Rollout{MaxUnavailable: rolloutPtr(intstr.FromString("10%"))}, wantMax: 1, wantTimeout: 30 * time.Minute},
		{name: "a timeout", members: 3, rollout: &intentv1.Rollout{Timeout: &metav1.Duration{Duration: 5 * time.Minute}}, wantMax: 1, wantTimeout: 5 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lc := &intentv1.LogicalCluster{Spec: intentv1.LogicalClusterSpec{Clusters: members(tt.members), Rollout: tt.rollout}}
			gotMax, gotTimeout, err := rolloutLimits(lc)
			require.NoError(t, err)
			assert.Equal(t, tt.wantMax, gotMax)
			assert.Equal(t, tt.wantTimeout, gotTimeout)
		})
	}
}

func rolloutPtr[T any](v T) *T { return &v }

func TestContainsFields(t *testing.T) {
	live := map[string]any{"a": 1.0, "defaulted": "x", "list": []any{
		map[string]any{"name": "n1", "v": 1.0, "extra": true}, map[string]any{"name": "n2", "v": 2.0},
	}}
	assert.True(t, containsFields(live, map[string]any{"a": 1.0}))
	assert.True(t, containsFields(live, map[string]any{"list": []any{map[string]any{"name": "n2", "v": 2.0}, map[string]any{"name": "n1", "v": 1.0}}}))
	assert.False(t, containsFields(live, map[string]any{"a": 2.0}))
	assert.False(t, containsFields(live, map[string]any{"missing": "y"}))
	assert.False(t, containsFields(live, map[string]any{"list": []any{map[string]any{"name": "n1", "v": 3.0}, map[string]any{"name": "n2", "v": 2.0}}}))
}
