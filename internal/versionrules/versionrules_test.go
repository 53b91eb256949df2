package versionrules

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The platform team's list in the tests: two patches of v1.35, one of v1.36, none of v1.38.
var chain = []string{"v1.35.0", "v1.35.2", "v1.36.1", "v1.37.0"}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name    string
		running Running
		desired Desired
		steps   []string
		rule    Rule
		field   Field
		message string
	}{
		{
			name:    "a new cluster starts at what Git says",
			desired: Desired{ControlPlane: "v1.35.0"},
			steps:   []string{"v1.35.0"},
		},
		{
			name:    "nothing changes",
			running: Running{ControlPlane: "v1.35.0", Workers: []string{"v1.35.0"}},
			desired: Desired{ControlPlane: "v1.35.0"},
		},
		{
			name:    "a patch upgrade is one step",
			running: Running{ControlPlane: "v1.35.0", Workers: []string{"v1.35.0"}},
			desired: Desired{ControlPlane: "v1.35.3"},
			steps:   []string{"v1.35.3"},
		},
		{
			name:    "one minor is one step, whatever the patch",
			running: Running{ControlPlane: "v1.35.0", Workers: []string{"v1.35.0"}},
			desired: Desired{ControlPlane: "v1.36.4"},
			steps:   []string{"v1.36.4"},
		},
		{
			name:    "a minor downgrade is refused",
			running: Running{ControlPlane: "v1.35.0", Workers: []string{"v1.35.0"}},
			desired: Desired{ControlPlane: "v1.34.1"},
			rule:    RuleNoDowngrade, field: FieldVersion,
			message: "kubernetesVersion v1.34.1 is older than v1.35.0, which the control plane runs: Kubernetes cannot downgrade a control plane (etcd and storage versions only move forward)",
		},
		{
			name:    "a patch downgrade is refused",
			running: Running{ControlPlane: "v1.35.2"},
			desired: Desired{ControlPlane: "v1.35.1"},
			rule:    RuleNoDowngrade, field: FieldVersion,
			message: "kubernetesVersion v1.35.1 is older than v1.35.2, which the control plane runs: Kubernetes cannot downgrade a control plane (etcd and storage versions only move forward)",
		},
		{
			name:    "a downgrade is refused even with a list",
			running: Running{ControlPlane: "v1.37.0"},
			desired: Desired{ControlPlane: "v1.35.0", Chain: chain},
			rule:    RuleNoDowngrade, field: FieldVersion,
			message: "kubernetesVersion v1.35.0 is older than v1.37.0, which the control plane runs: Kubernetes cannot downgrade a control plane (etcd and storage versions only move forward)",
		},
		{
			name:    "a workers' downgrade is refused",
			running: Running{ControlPlane: "v1.35.0", Workers: []string{"v1.35.0"}},
			desired: Desired{ControlPlane: "v1.35.0", Workers: "v1.34.2"},
			rule:    RuleNoDowngrade, field: FieldWorkerVersion,
			message: "workerKubernetesVersion v1.34.2 is older than v1.35.0, which the workers run: workers are not downgraded either",
		},
		{
			name:    "a skipped minor without a list is refused",
			running: Running{ControlPlane: "v1.35.0", Workers: []string{"v1.35.0"}},
			desired: Desired{ControlPlane: "v1.37.0"},
			rule:    RuleNoMinorSkip, field: FieldVersion,
			message: "kubernetesVersion v1.37.0 skips minor v1.36 from v1.35.0, which the control plane runs: Kubernetes upgrades one minor at a time; list a version of each skipped minor in kubernetesVersions to upgrade in steps",
		},
		{
			name:    "two skipped minors are both named",
			running: Running{ControlPlane: "v1.34.0"},
			desired: Desired{ControlPlane: "v1.37.0"},
			rule:    RuleNoMinorSkip, field: FieldVersion,
			message: "kubernetesVersion v1.37.0 skips minors v1.35 and v1.36 from v1.34.0, which the control plane runs: Kubernetes upgrades one minor at a time; list a version of each skipped minor in kubernetesVersions to upgrade in steps",
		},
		{
			name:    "a chain steps through the highest listed patch of each minor",
			running: Running{ControlPlane: "v1.34.2", Workers: []string{"v1.34.2"}},
			desired: Desired{ControlPlane: "v1.37.0", Chain: chain},
			steps:   []string{"v1.35.2", "v1.36.1", "v1.37.0"},
		},
		{
			name:    "the list may hold versions that the jump does not need",
			running: Running{ControlPlane: "v1.35.1"},
			desired: Desired{ControlPlane: "v1.36.0", Chain: chain},
			steps:   []string{"v1.36.0"},
		},
		{
			name:    "a chain with a minor missing from the list is refused, naming the minor",
			running: Running{ControlPlane: "v1.36.1"},
			desired: Desired{ControlPlane: "v1.39.0", Chain: chain},
			rule:    RuleMissingIntermediateMinor, field: FieldChain,
			message: "kubernetesVersion v1.39.0 from v1.36.1 needs a step through minor v1.38, but kubernetesVersions lists no version of minor v1.38",
		},
		{
			name:    "a change of major is refused",
			running: Running{ControlPlane: "v1.35.0"},
			desired: Desired{ControlPlane: "v2.0.0", Chain: chain},
			rule:    RuleNoMinorSkip, field: FieldVersion,
			message: "kubernetesVersion v2.0.0 changes the major version from v1.35.0: Kubernetes upgrades one minor at a time within a major",
		},
		{
			name:    "workers set ahead of the control plane are refused",
			desired: Desired{ControlPlane: "v1.35.0", Workers: "v1.36.0"},
			rule:    RuleWorkersNotNewer, field: FieldWorkerVersion,
			message: "workerKubernetesVersion v1.36.0 is newer than the control plane's v1.35.0: workers never run a newer Kubernetes than their control plane",
		},
		{
			name:    "workers three minors behind are allowed",
			desired: Desired{ControlPlane: "v1.35.0", Workers: "v1.32.5"},
			steps:   []string{"v1.35.0"},
		},
		{
			name:    "workers set four minors behind are refused",
			desired: Desired{ControlPlane: "v1.35.0", Workers: "v1.31.0"},
			rule:    RuleWorkerSkew, field: FieldWorkerVersion,
			message: "workerKubernetesVersion v1.31.0 is 4 minors behind the control plane's v1.35.0: workers may be at most 3 minors behind",
		},
		{
			name:    "running workers that the first step would leave four minors behind are refused",
			running: Running{ControlPlane: "v1.34.0", Workers: []string{"v1.34.0", "v1.31.2"}},
			desired: Desired{ControlPlane: "v1.35.0"},
			rule:    RuleWorkerSkew, field: FieldVersion,
			message: "kubernetesVersion v1.35.0 would put workers running v1.31.2 4 minors behind the control plane: workers may be at most 3 minors behind; upgrade the workers first",
		},
		{
			name:    "a malformed version is refused",
			running: Running{ControlPlane: "v1.35.0"},
			desired: Desired{ControlPlane: "1.36"},
			rule:    RuleVersionFormat, field: FieldVersion,
			message: `kubernetesVersion "1.36" is not a version like v1.35.0 (v<major>.<minor>.<patch>)`,
		},
		{
			name:    "a malformed list entry is refused, even when the jump does not need it",
			running: Running{ControlPlane: "v1.35.0"},
			desired: Desired{ControlPlane: "v1.36.0", Chain: []string{"v1.35.0", "v1.36"}},
			rule:    RuleVersionFormat, field: FieldChain,
			message: `kubernetesVersions[1] "v1.36" is not a version like v1.35.0 (v<major>.<minor>.<patch>)`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Check(tc.running, tc.desired)
			if tc.rule == "" {
				require.Nil(t, d.Refusal)
				if tc.steps == nil {
					assert.Empty(t, d.Steps)
				} else {
					assert.Equal(t, tc.steps, d.StepStrings())
				}
				return
			}
			require.NotNil(t, d.Refusal, "steps %v", d.StepStrings())
			assert.Empty(t, d.Steps)
			assert.Equal(t, tc.rule, d.Refusal.Rule)
			assert.Equal(t, tc.field, d.Refusal.Field)
			assert.Equal(t, tc.message, d.Refusal.Message)
			assert.Equal(t, tc.message+" (rule "+string(tc.rule)+")", d.Refusal.Error())
		})
	}
}

func TestRefusalIndexPointsAtTheBadListEntry(t *testing.T) {
	d := Check(Running{}, Desired{ControlPlane: "v1.35.0", Chain: []string{"v1.34.0", "v1.35.0", "latest"}})
	require.NotNil(t, d.Refusal)
	assert.Equal(t, 2, d.Refusal.Index)
	d = Check(Running{}, Desired{ControlPlane: "v1.35.0", Workers: "v1.36.0"})
	require.NotNil(t, d.Refusal)
	assert.Equal(t, -1, d.Refusal.Index)
}

func TestAnUnreadableRunningVersionCountsAsNotRunning(t *testing.T) {
	d := Check(Running{ControlPlane: "", Workers: []string{"garbage"}}, Desired{ControlPlane: "v1.35.0"})
	require.Nil(t, d.Refusal)
	assert.Equal(t, []string{"v1.35.0"}, d.StepStrings())
	assert.False(t, d.Chained())
}

func TestVersionOrder(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"v1.35.0", "v1.35.0", 0},
		{"v1.35.0", "v1.35.1", -1},
		{"v1.36.0", "v1.35.9", 1},
		{"v1.9.0", "v1.10.0", -1}, // numbers, not text
		{"v2.0.0", "v1.99.99", 1},
	} {
		a, err := Parse(tc.a)
		require.NoError(t, err)
		b, err := Parse(tc.b)
		require.NoError(t, err)
		assert.Equal(t, tc.want, a.Compare(b), "%s vs %s", tc.a, tc.b)
	}
	for _, bad := range []string{"", "1.35.0", "v1.35", "v1.35.0-rc.1", "v01.35.0", "v1.35.0 "} {
		_, err := Parse(bad)
		assert.Error(t, err, "%q", bad)
	}
}
