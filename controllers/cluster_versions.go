package controllers

import (
	"fmt"

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
