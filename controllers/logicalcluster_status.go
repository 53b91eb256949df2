package controllers

import (
	"fmt"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
)

// RolloutHaltedCondition is True while a failed or late member stops a rollout.
const RolloutHaltedCondition = "RolloutHalted"

// Reasons of the LogicalCluster's Ready condition.
const (
	ReasonRolloutHalted = "RolloutHalted"
	ReasonRollingOut    = "RollingOut"
	ReasonProvisioning  = "Provisioning"
	ReasonMemberFailed  = "MemberFailed"
)

// summarizeLogicalCluster writes the observed state of the members and the rollout into the
// status: the members in spec order, the counts, the wave in progress, a phase and the
// kstatus conditions. The patch helper sends only what changed.
func summarizeLogicalCluster(lc *intentv1.LogicalCluster, members []memberRollout, clusters map[string]*automationv1alpha1.Cluster, plan rolloutPlan) {
	statuses := make([]intentv1.MemberStatus, len(members))
	var ready, failed int32
	for i, m := range members {
		s := intentv1.MemberStatus{Name: m.Name, Phase: m.Phase, Wave: m.Wave, Pending: m.waiting()}
		if c := clusters[m.Name]; c != nil {
			s.KubernetesVersion = c.Status.ControlPlaneVersion
			// The cluster registrar's record; the logical cloud's references are in status.emco.
			s.Registered = c.Status.EMCO != nil && c.Status.EMCO.Registered
		}
		switch m.Phase {
		case automationv1alpha1.ClusterPhaseReady:
			ready++
		case automationv1alpha1.ClusterPhaseFailed:
			failed++
		}
		statuses[i] = s
	}
	total := int32(len(members))
	lc.Status.Members = statuses
	lc.Status.ReadyMembers, lc.Status.TotalMembers = ready, total
	lc.Status.CurrentWave = plan.CurrentWave
	lc.Status.ObservedGeneration = lc.Generation
	lc.Status.SourceRevision = lc.Annotations[automationv1alpha1.SourceRevisionAnnotation]

	if h := plan.Halt; h != nil {
		lc.Status.Phase = automationv1alpha1.ClusterPhaseFailed
		conditions.MarkTrue(lc, RolloutHaltedCondition, h.Reason, "%s", h.message())
		conditions.MarkFalse(lc, meta.ReadyCondition, ReasonRolloutHalted, "%s", h.message())
		conditions.MarkStalled(lc, ReasonRolloutHalted, "%s", h.message())
		conditions.Delete(lc, meta.ReconcilingCondition)
		return
	}
	conditions.Delete(lc, RolloutHaltedCondition)
	conditions.Delete(lc, meta.StalledCondition)
	switch {
	case plan.CurrentWave != nil:
		lc.Status.Phase = automationv1alpha1.ClusterPhaseUpgrading
		msg := fmt.Sprintf("rolling out wave %d: %d member(s) in flight, %d/%d members Ready", *plan.CurrentWave, plan.InFlight+len(plan.Grant), ready, total)
		conditions.MarkReconciling(lc, ReasonRollingOut, "%s", msg)
		conditions.MarkFalse(lc, meta.ReadyCondition, ReasonRollingOut, "%s", msg)
	case ready == total:
		lc.Status.Phase = automationv1alpha1.ClusterPhaseReady
		conditions.Delete(lc, meta.ReconcilingCondition)
		conditions.MarkTrue(lc, meta.ReadyCondition, meta.SucceededReason, "%d/%d members Ready", ready, total)
	case failed > 0:
		lc.Status.Phase = automationv1alpha1.ClusterPhaseFailed
		conditions.Delete(lc, meta.ReconcilingCondition)
		conditions.MarkFalse(lc, meta.ReadyCondition, ReasonMemberFailed, "%d of %d members Failed: %s", failed, total, failedNames(members))
	default:
		lc.Status.Phase = automationv1alpha1.ClusterPhaseProvisioning
		msg := fmt.Sprintf("%d/%d members Ready", ready, total)
		conditions.MarkReconciling(lc, ReasonProvisioning, "%s", msg)
		conditions.MarkFalse(lc, meta.ReadyCondition, ReasonProvisioning, "%s", msg)
	}
}

func failedNames(members []memberRollout) string {
	var names []string
	for _, m := range members {
		if m.Phase == automationv1alpha1.ClusterPhaseFailed {
			names = append(names, m.Name)
		}
	}
	return fmt.Sprint(names)
}
