package controllers

import (
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/dcn-ssu/lkaas/internal/resolve"
	"github.com/dcn-ssu/lkaas/internal/versionrules"
)

// ReasonUpgradeRefused: the cluster's desired version breaks a Kubernetes version rule against
// what runs (a downgrade, a skipped minor, workers out of skew); nothing is written.
const ReasonUpgradeRefused = "UpgradeRefused"

// versionGate is what one pass may write for a cluster's versions. L-KaaS orders an upgrade
// itself instead of trusting CAPI's MachineSet preflight checks (a feature gate that may be
// off): the workers' version is written only once the control plane reports the new version
// on every control-plane machine, and a chained upgrade's next control-plane step only once
// the workers have caught up with the previous one. Each pass derives the step from what
// runs, so a restart resumes the step and never writes an earlier one again.
type versionGate struct {
	refusal *versionrules.Refusal
	// controlPlane and workers are the versions to write (KubeadmControlPlane spec.version,
	// MachineDeployments' spec.template.spec.version); empty leaves the render's.
	controlPlane, workers string
	// waiting says what the cluster waits for, for its conditions; empty when nothing.
	waiting string
}

// gateVersions decides a pass's versions from what runs (s, read from the cache) and the plan.
func gateVersions(s *capiState, plan *resolve.Plan) versionGate {
	finalWorkers := plan.WorkerVersion()
	if !s.exists || s.targetVersion == "" {
		return versionGate{} // nothing runs yet: the cluster is created at the version Git asks for
	}
	current := newestVersion(s.targetVersion, s.controlPlaneVersion)
	running := versionrules.Running{ControlPlane: current}
	if w := oldestVersion(s.workersVersion, s.workersTarget); w != "" {
		running.Workers = []string{w}
	}
	d := versionrules.Check(running, versionrules.Desired{
		ControlPlane: plan.KubernetesVersion, Workers: plan.WorkerKubernetesVersion, Chain: plan.KubernetesVersions,
	})
	if s.topology {
		// A ClusterClass cluster keeps CAPI's own chained upgrade (its spec.kubernetesVersions):
		// only the downgrade and skew rules are ours to hold.
		if d.Refusal != nil && d.Refusal.Rule != versionrules.RuleNoMinorSkip && d.Refusal.Rule != versionrules.RuleMissingIntermediateMinor {
			return versionGate{refusal: d.Refusal}
		}
		return versionGate{}
	}
	if d.Refusal != nil {
		return versionGate{refusal: d.Refusal}
	}

	step := s.targetVersion // the control-plane version CAPI is asked to run now
	if !controlPlaneAt(s, step) {
		return versionGate{controlPlane: step, workers: s.workersTarget,
			waiting: fmt.Sprintf("control plane %d/%d at %s; workers wait for the control plane", s.cpUpToDate, s.cpReplicas, step)}
	}
	workersStep := oldestVersion(step, finalWorkers)
	if s.hasWorkers && (s.workersTarget != workersStep || s.workersVersion != "" && s.workersVersion != workersStep) {
		return versionGate{controlPlane: step, workers: workersStep,
			waiting: fmt.Sprintf("control plane at %s; workers rolling to %s (now %s)", step, workersStep, orUnknown(s.workersVersion))}
	}
	if len(d.Steps) == 0 {
		return versionGate{}
	}
	next := d.Steps[0].String()
	g := versionGate{controlPlane: next, workers: s.workersTarget}
	if len(d.Steps) > 1 {
		g.waiting = fmt.Sprintf("control plane rolling to %s, step 1 of %d to %s; workers wait for the control plane", next, len(d.Steps), plan.KubernetesVersion)
	} else {
		g.waiting = fmt.Sprintf("control plane rolling to %s; workers wait for the control plane", next)
	}
	return g
}

// topologyWaiting says what a ClusterClass cluster's upgrade waits for, in the words of the
// template mode's gate, from what CAPI's topology reports: the step it has written to the
// control plane (KCP spec.version), the machines at it, the versions its upgrade plan has
// still to write, and what holds it. CAPI's topology writes the workers' version only once
// the control plane runs the step, whatever its feature gates, so workers wait here too.
// Empty when nothing is pending.
func topologyWaiting(s *capiState) string {
	step := s.targetVersion // the step CAPI has written to the control plane
	var msg string
	switch {
	case step == "":
		return ""
	case !controlPlaneAt(s, step):
		msg = fmt.Sprintf("control plane %d/%d at %s; workers wait for the control plane", s.cpUpToDate, s.cpReplicas, step)
	case s.hasWorkers && s.workersTarget != step:
		msg = fmt.Sprintf("control plane at %s; workers pending upgrade to %s (now %s)", step, step, orUnknown(s.workersVersion))
	case s.hasWorkers && s.workersVersion != "" && s.workersVersion != step:
		msg = fmt.Sprintf("control plane at %s; workers rolling to %s (now %s)", step, step, orUnknown(s.workersVersion))
	case step != s.topologyVersion || len(laterVersions(s.cpPlan, step)) > 0:
		msg = fmt.Sprintf("control plane and workers at %s", step)
	default:
		return ""
	}
	next := laterVersions(s.cpPlan, step)
	if len(next) == 0 && step != s.topologyVersion {
		next = []string{s.topologyVersion} // CAPI has not (re)computed its plan yet
	}
	if len(next) > 0 {
		msg += "; then " + strings.Join(next, " → ") + " (Cluster API's chain)"
	}
	if s.topologyHeld != "" {
		msg += "; held by Cluster API: " + s.topologyHeld
	}
	return msg
}

// laterVersions are the versions of plan newer than v, in order.
func laterVersions(plan []string, v string) []string {
	var out []string
	for _, p := range plan {
		if pickVersion(p, v, 1) == p && p != v {
			out = append(out, p)
		}
	}
	return out
}

// topologyHeld is why CAPI's topology holds an upgrade, from its TopologyReconciled
// condition: the reason and CAPI's first detail line, or "" when it is not holding.
func topologyHeld(c *metav1.Condition) string {
	if c == nil || c.Status != metav1.ConditionFalse {
		return ""
	}
	switch c.Reason {
	case "LifecycleHookBlocking", "MachineDeploymentsUpgradeDeferred", "MachinePoolsUpgradeDeferred", "ReconcileFailed":
	default:
		return "" // upgrading or pending: the versions above say it
	}
	detail := c.Message
	if first, rest, ok := strings.Cut(detail, "\n"); ok && strings.HasPrefix(first, "Cluster is upgrading") {
		detail = rest // the headline repeats the version; the details say what holds it
	}
	detail, _, _ = strings.Cut(strings.TrimSpace(detail), "\n")
	return c.Reason + ": " + strings.TrimPrefix(strings.TrimSpace(detail), "* ")
}

// controlPlaneAt: every control-plane machine reports v (KCP status.version is the oldest
// machine's) and every replica is up to date. A control plane that reports no version has
// no machine yet: nothing runs that an order could protect. Workers that report no version
// (no machine yet) likewise hold nothing back.
func controlPlaneAt(s *capiState, v string) bool {
	return s.controlPlaneVersion == "" || s.controlPlaneVersion == v && s.cpUpToDate >= s.cpReplicas
}

// applyGate writes the gate's versions into copies of the rendered objects.
func applyGate(objs []*unstructured.Unstructured, g versionGate) []*unstructured.Unstructured {
	if g.controlPlane == "" && g.workers == "" {
		return objs
	}
	out := make([]*unstructured.Unstructured, len(objs))
	for i, o := range objs {
		switch gk := o.GroupVersionKind().GroupKind(); {
		case g.controlPlane != "" && gk.Kind == "KubeadmControlPlane" && gk.Group == "controlplane.cluster.x-k8s.io":
			o = o.DeepCopy()
			_ = unstructured.SetNestedField(o.Object, g.controlPlane, "spec", "version")
		case g.workers != "" && gk == machineDeploymentGVK.GroupKind():
			o = o.DeepCopy()
			_ = unstructured.SetNestedField(o.Object, g.workers, "spec", "template", "spec", "version")
		}
		out[i] = o
	}
	return out
}

func newestVersion(a, b string) string { return pickVersion(a, b, 1) }

func oldestVersion(a, b string) string { return pickVersion(a, b, -1) }

// pickVersion returns the newer of a and b for direction 1, the older for -1; one that does
// not parse loses.
func pickVersion(a, b string, direction int) string {
	va, errA := versionrules.Parse(a)
	vb, errB := versionrules.Parse(b)
	switch {
	case errA != nil:
		return b
	case errB != nil:
		return a
	case va.Compare(vb)*direction >= 0:
		return a
	default:
		return b
	}
}
