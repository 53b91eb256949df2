package controllers

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
)

// DefaultRolloutTimeout is how long a permitted member may take to be done on its new render
// when spec.rollout.timeout is not given.
const DefaultRolloutTimeout = 30 * time.Minute

// memberRollout is what the rollout planner knows of one member. The planner is a pure
// function of these, so every rule of the rollout is reachable from a table test.
type memberRollout struct {
	Name string
	Wave int32
	// RenderHash, AppliedRenderHash, Phase and Message come from the member Cluster's status.
	RenderHash        string
	AppliedRenderHash string
	Phase             automationv1alpha1.ClusterPhase
	Message           string
	// Healthy: Ready (or Available) is True for the member's current generation.
	Healthy bool
	// Permit is the render hash the member may apply; PermitTime is set while that permit
	// is being rolled out and cleared once the member is done with it.
	Permit     string
	PermitTime time.Time
}

// pending: the member has a render it has not applied yet. Its first render needs no permit,
// so a member that never applied anything is not pending.
func (m memberRollout) pending() bool {
	return m.AppliedRenderHash != "" && m.RenderHash != "" && m.RenderHash != m.AppliedRenderHash
}

func (m memberRollout) permitted() bool { return m.RenderHash != "" && m.Permit == m.RenderHash }

// done: the member runs its current render and is healthy on it.
func (m memberRollout) done() bool {
	return m.Phase == automationv1alpha1.ClusterPhaseReady && m.RenderHash != "" &&
		m.AppliedRenderHash == m.RenderHash && m.Healthy
}

// waiting: a pending change that has no permit yet.
func (m memberRollout) waiting() bool { return m.pending() && !m.permitted() }

// inFlight: permitted in this rollout and not done yet. It counts against maxUnavailable.
func (m memberRollout) inFlight() bool {
	return m.permitted() && !m.PermitTime.IsZero() && !m.done()
}

// rolloutHalt names the member that stopped the rollout and why.
type rolloutHalt struct {
	Member string
	Wave   int32
	Reason string // RolloutMemberFailedReason or RolloutTimedOutReason
	Detail string
}

func (h *rolloutHalt) message() string {
	return fmt.Sprintf("rollout halted at wave %d: member %s %s; a new change of %s or of the LogicalCluster resumes it",
		h.Wave, h.Member, h.Detail, h.Member)
}

// Reasons of the RolloutHalted condition.
const (
	RolloutMemberFailedReason = "MemberFailed"
	RolloutTimedOutReason     = "MemberTimedOut"
)

// rolloutPlan is the planner's decision for one pass.
type rolloutPlan struct {
	// Grant are the members to permit now, in rollout order.
	Grant []string
	// Settle are members done with their permit: their permit time is cleared.
	Settle []string
	// CurrentWave is the lowest wave with a member waiting or in flight; nil when nothing rolls.
	CurrentWave *int32
	InFlight    int
	// Halt is set when an in-flight member failed or timed out: no permits are granted.
	Halt *rolloutHalt
	// RecheckAfter is when the first in-flight member times out (0: none in flight).
	RecheckAfter time.Duration
}

// planRollout decides which members may apply their pending change now: waves in ascending
// order (spec order within a wave), a wave only after every member of the lower waves is
// done, and never more than maxUnavailable members in flight.
func planRollout(members []memberRollout, maxUnavailable int, timeout time.Duration, now time.Time) rolloutPlan {
	order := make([]int, len(members))
	for i := range order {
		order[i] = i
	}
	// Stable: spec order breaks ties within a wave.
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(members[a].Wave, members[b].Wave) })

	var plan rolloutPlan
	for _, i := range order {
		m := members[i]
		switch {
		case m.inFlight():
			plan.InFlight++
			if plan.CurrentWave == nil {
				plan.CurrentWave = &m.Wave
			}
			left := m.PermitTime.Add(timeout).Sub(now)
			switch {
			case plan.Halt != nil:
			case m.Phase == automationv1alpha1.ClusterPhaseFailed:
				detail := "failed"
				if m.Message != "" {
					detail += ": " + m.Message
				}
				plan.Halt = &rolloutHalt{Member: m.Name, Wave: m.Wave, Reason: RolloutMemberFailedReason, Detail: detail}
			case left <= 0:
				plan.Halt = &rolloutHalt{Member: m.Name, Wave: m.Wave, Reason: RolloutTimedOutReason,
					Detail: fmt.Sprintf("was not Ready on its new render within %s of its permit", timeout)}
			case plan.RecheckAfter == 0 || left < plan.RecheckAfter:
				plan.RecheckAfter = left
			}
		case m.waiting():
			if plan.CurrentWave == nil {
				plan.CurrentWave = &m.Wave
			}
		case m.done() && !m.PermitTime.IsZero():
			plan.Settle = append(plan.Settle, m.Name)
		}
	}
	if plan.Halt != nil || plan.CurrentWave == nil {
		return plan
	}
	for _, i := range order {
		m := members[i]
		if plan.InFlight+len(plan.Grant) >= maxUnavailable {
			break
		}
		if m.Wave == *plan.CurrentWave && m.waiting() {
			plan.Grant = append(plan.Grant, m.Name)
		}
	}
	return plan
}

// rolloutLimits reads maxUnavailable (a count, or a share of the members rounded down, at
// least 1) and the timeout from the spec, with their defaults.
func rolloutLimits(lc *intentv1.LogicalCluster) (int, time.Duration, error) {
	maxUnavailable := intstr.FromInt32(1)
	timeout := DefaultRolloutTimeout
	if r := lc.Spec.Rollout; r != nil {
		if r.MaxUnavailable != nil {
			maxUnavailable = *r.MaxUnavailable
		}
		if r.Timeout != nil && r.Timeout.Duration > 0 {
			timeout = r.Timeout.Duration
		}
	}
	n, err := intstr.GetScaledValueFromIntOrPercent(&maxUnavailable, len(lc.Spec.Clusters), false)
	if err != nil {
		return 0, 0, fmt.Errorf("spec.rollout.maxUnavailable: %w; give a count such as 1 or a percentage such as \"25%%\"", err)
	}
	return max(1, n), timeout, nil
}
