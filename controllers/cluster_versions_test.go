package controllers

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/dcn-ssu/lkaas/internal/resolve"
	"github.com/dcn-ssu/lkaas/internal/versionrules"
)

// running is a template-mode cluster's live state: the control plane asked for spec and
// upToDate of replicas machines at it, status the oldest machine, workers asked for and at.
func running(spec, status string, upToDate, replicas int64, workersSpec, workersAt string) *capiState {
	return &capiState{exists: true, targetVersion: spec, controlPlaneVersion: status, cpUpToDate: upToDate, cpReplicas: replicas,
		hasWorkers: workersSpec != "", workersTarget: workersSpec, workersVersion: workersAt}
}

func wants(version string, list ...string) *resolve.Plan {
	return &resolve.Plan{KubernetesVersion: version, KubernetesVersions: list}
}

// One pass at a time through an upgrade: what the pass writes and what the cluster says it
// waits for. Each row is a state a restart may find; the step follows from it alone.
func TestGateVersionsOrdersTheControlPlaneBeforeTheWorkers(t *testing.T) {
	chain := []string{"v1.35.2", "v1.36.1"}
	for _, tc := range []struct {
		name                  string
		state                 *capiState
		plan                  *resolve.Plan
		controlPlane, workers string
		waiting               string
		rule                  versionrules.Rule
	}{
		{name: "nothing runs yet: the render goes as it is", state: &capiState{}, plan: wants("v1.35.0")},
		{name: "steady: the render goes as it is", state: running("v1.35.0", "v1.35.0", 3, 3, "v1.35.0", "v1.35.0"), plan: wants("v1.35.0")},
		{
			name:  "a one-minor upgrade starts with the control plane, workers held",
			state: running("v1.35.0", "v1.35.0", 3, 3, "v1.35.0", "v1.35.0"), plan: wants("v1.36.0"),
			controlPlane: "v1.36.0", workers: "v1.35.0", waiting: "control plane rolling to v1.36.0; workers wait for the control plane",
		},
		{
			name:  "control plane 2/3 at the new version: workers still held",
			state: running("v1.36.0", "v1.35.0", 2, 3, "v1.35.0", "v1.35.0"), plan: wants("v1.36.0"),
			controlPlane: "v1.36.0", workers: "v1.35.0", waiting: "control plane 2/3 at v1.36.0; workers wait for the control plane",
		},
		{
			name:  "control plane done: the workers follow",
			state: running("v1.36.0", "v1.36.0", 3, 3, "v1.35.0", "v1.35.0"), plan: wants("v1.36.0"),
			controlPlane: "v1.36.0", workers: "v1.36.0", waiting: "control plane at v1.36.0; workers rolling to v1.36.0 (now v1.35.0)",
		},
		{
			name:  "a chain starts with its first step",
			state: running("v1.34.0", "v1.34.0", 1, 1, "v1.34.0", "v1.34.0"), plan: wants("v1.37.0", append(chain, "v1.37.0")...),
			controlPlane: "v1.35.2", workers: "v1.34.0", waiting: "control plane rolling to v1.35.2, step 1 of 3 to v1.37.0; workers wait for the control plane",
		},
		{
			name:  "a restart mid-step resumes the step, not an earlier one",
			state: running("v1.35.2", "v1.34.0", 0, 1, "v1.34.0", "v1.34.0"), plan: wants("v1.37.0", chain...),
			controlPlane: "v1.35.2", workers: "v1.34.0", waiting: "control plane 0/1 at v1.35.2; workers wait for the control plane",
		},
		{
			name:  "the workers finish a step before the next control-plane step",
			state: running("v1.35.2", "v1.35.2", 1, 1, "v1.35.2", "v1.34.0"), plan: wants("v1.37.0", chain...),
			controlPlane: "v1.35.2", workers: "v1.35.2", waiting: "control plane at v1.35.2; workers rolling to v1.35.2 (now v1.34.0)",
		},
		{
			name:  "a finished step leads to the next",
			state: running("v1.35.2", "v1.35.2", 1, 1, "v1.35.2", "v1.35.2"), plan: wants("v1.37.0", chain...),
			controlPlane: "v1.36.1", workers: "v1.35.2", waiting: "control plane rolling to v1.36.1, step 1 of 2 to v1.37.0; workers wait for the control plane",
		},
		{
			name:  "a control plane and workers that report no version yet hold nothing back",
			state: running("v1.35.0", "", 0, 0, "v1.35.0", ""), plan: wants("v1.36.0"),
			controlPlane: "v1.36.0", workers: "v1.35.0", waiting: "control plane rolling to v1.36.0; workers wait for the control plane",
		},
		{
			name:  "unreported workers follow a finished control plane",
			state: running("v1.36.0", "v1.36.0", 1, 1, "v1.35.0", ""), plan: wants("v1.36.0"),
			controlPlane: "v1.36.0", workers: "v1.36.0", waiting: "control plane at v1.36.0; workers rolling to v1.36.0 (now unknown)",
		},
		{
			name:  "a revert of a started upgrade is a downgrade",
			state: running("v1.36.0", "v1.35.0", 1, 3, "v1.35.0", "v1.35.0"), plan: wants("v1.35.0"),
			rule: versionrules.RuleNoDowngrade,
		},
		{
			name:  "a skipped minor is refused before anything is written",
			state: running("v1.35.0", "v1.35.0", 3, 3, "v1.35.0", "v1.35.0"), plan: wants("v1.37.0"),
			rule: versionrules.RuleNoMinorSkip,
		},
		{
			name:  "a ClusterClass cluster keeps CAPI's chain but not a downgrade",
			state: &capiState{exists: true, topology: true, targetVersion: "v1.35.0", controlPlaneVersion: "v1.35.0"}, plan: wants("v1.34.0"),
			rule: versionrules.RuleNoDowngrade,
		},
		{
			name:  "a ClusterClass cluster may jump minors: CAPI steps",
			state: &capiState{exists: true, topology: true, targetVersion: "v1.35.0", controlPlaneVersion: "v1.35.0"}, plan: wants("v1.37.0"),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := gateVersions(tc.state, tc.plan)
			if tc.rule != "" {
				require.NotNil(t, g.refusal)
				assert.Equal(t, tc.rule, g.refusal.Rule)
				return
			}
			require.Nil(t, g.refusal, "%v", g.refusal)
			assert.Equal(t, tc.controlPlane, g.controlPlane, "control plane")
			assert.Equal(t, tc.workers, g.workers, "workers")
			assert.Equal(t, tc.waiting, g.waiting)
		})
	}
}

// A ClusterClass cluster runs CAPI's own chain; it says where it is in the template mode's
// words, from what CAPI's topology reports.
func TestTopologyWaitingSaysWhereCAPIsChainIs(t *testing.T) {
	topology := func(final string, plan []string, s *capiState) *capiState {
		s.topology, s.topologyVersion, s.cpPlan = true, final, plan
		return s
	}
	for _, tc := range []struct {
		name  string
		state *capiState
		held  *metav1.Condition
		want  string
	}{
		{
			name:  "the control plane rolls to CAPI's first step",
			state: topology("v1.36.0", []string{"v1.36.0"}, running("v1.35.3", "v1.34.1", 0, 3, "v1.34.1", "v1.34.1")),
			want:  "control plane 0/3 at v1.35.3; workers wait for the control plane; then v1.36.0 (Cluster API's chain)",
		},
		{
			name:  "CAPI has not written the workers' step yet",
			state: topology("v1.36.0", []string{"v1.36.0"}, running("v1.35.3", "v1.35.3", 3, 3, "v1.34.1", "v1.34.1")),
			want:  "control plane at v1.35.3; workers pending upgrade to v1.35.3 (now v1.34.1); then v1.36.0 (Cluster API's chain)",
		},
		{
			name:  "the workers roll to the step",
			state: topology("v1.36.0", nil, running("v1.35.3", "v1.35.3", 3, 3, "v1.35.3", "v1.34.1")),
			want:  "control plane at v1.35.3; workers rolling to v1.35.3 (now v1.34.1); then v1.36.0 (Cluster API's chain)",
		},
		{
			name:  "a finished step before CAPI writes the next",
			state: topology("v1.36.0", []string{"v1.36.0"}, running("v1.35.3", "v1.35.3", 3, 3, "v1.35.3", "v1.35.3")),
			want:  "control plane and workers at v1.35.3; then v1.36.0 (Cluster API's chain)",
		},
		{
			name:  "the last step",
			state: topology("v1.36.0", nil, running("v1.36.0", "v1.35.3", 1, 3, "v1.35.3", "v1.35.3")),
			want:  "control plane 1/3 at v1.36.0; workers wait for the control plane",
		},
		{
			name:  "done",
			state: topology("v1.36.0", nil, running("v1.36.0", "v1.36.0", 3, 3, "v1.36.0", "v1.36.0")),
		},
		{
			name:  "a blocking hook holds it",
			state: topology("v1.36.0", []string{"v1.35.3", "v1.36.0"}, running("v1.34.1", "v1.34.1", 3, 3, "v1.34.1", "v1.34.1")),
			held: &metav1.Condition{Status: metav1.ConditionFalse, Reason: "LifecycleHookBlocking",
				Message: "Cluster is upgrading to v1.36.0\n  * hook BeforeClusterUpgrade is blocking upgrade\n  * KubeadmControlPlane pending upgrade to version v1.35.3, v1.36.0"},
			want: "control plane and workers at v1.34.1; then v1.35.3 → v1.36.0 (Cluster API's chain); held by Cluster API: LifecycleHookBlocking: hook BeforeClusterUpgrade is blocking upgrade",
		},
		{
			name:  "upgrading is not holding",
			state: topology("v1.36.0", nil, running("v1.36.0", "v1.35.3", 0, 1, "", "")),
			held:  &metav1.Condition{Status: metav1.ConditionFalse, Reason: "ClusterUpgrading", Message: "Cluster is upgrading to v1.36.0"},
			want:  "control plane 0/1 at v1.36.0; workers wait for the control plane",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.state.topologyHeld = topologyHeld(tc.held)
			assert.Equal(t, tc.want, topologyWaiting(tc.state))
		})
	}
}

func TestApplyGateWritesVersionsIntoCopies(t *testing.T) {
	kcp := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "controlplane.cluster.x-k8s.io/v1beta2", "kind": "KubeadmControlPlane",
		"spec": map[string]any{"version": "v1.37.0"}}}
	md := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "MachineDeployment",
		"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"version": "v1.37.0"}}}}}
	out := applyGate([]*unstructured.Unstructured{kcp, md}, versionGate{controlPlane: "v1.35.2", workers: "v1.34.0"})
	v, _, _ := unstructured.NestedString(out[0].Object, "spec", "version")
	assert.Equal(t, "v1.35.2", v)
	v, _, _ = unstructured.NestedString(out[1].Object, "spec", "template", "spec", "version")
	assert.Equal(t, "v1.34.0", v)
	v, _, _ = unstructured.NestedString(kcp.Object, "spec", "version")
	assert.Equal(t, "v1.37.0", v, "the render itself is left alone")
}
