package gitstatus

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
)

// tree is what Git holds after a commit of docs (and its README) for the seed's Fleet,
// beside a file a person keeps there.
func committed(t *testing.T, docs map[string][]byte) map[string][]byte {
	t.Helper()
	changes, err := Plan(DefaultDir, "starlab/starlab", docs, map[string][]byte{})
	require.NoError(t, err)
	tree := map[string][]byte{"status/NOTES.md": []byte("kept by a person\n")}
	for name, data := range changes {
		tree[name] = data
	}
	return tree
}

func TestPlan(t *testing.T) {
	docs := render(t, seed())
	tree := committed(t, docs)
	require.Contains(t, tree, "status/README.md")

	t.Run("unchanged state: nothing", func(t *testing.T) {
		changes, err := Plan(DefaultDir, "starlab/starlab", docs, tree)
		require.NoError(t, err)
		assert.Nil(t, changes)
	})

	t.Run("new revisions alone: nothing", func(t *testing.T) {
		s := seed()
		s.Fleet.Status.LastAppliedRevision = "main@sha1:0000000000000000000000000000000000000000"
		for i := range s.Clusters {
			s.Clusters[i].Status.SourceRevision = "main@sha1:0000000000000000000000000000000000000000"
		}
		changes, err := Plan(DefaultDir, "starlab/starlab", render(t, s), tree)
		require.NoError(t, err)
		assert.Nil(t, changes)
	})

	t.Run("a phase changes: that document and the README, with fresh revisions", func(t *testing.T) {
		s := seed()
		s.Clusters[0].Status.Phase = automationv1alpha1.ClusterPhaseFailed
		s.Fleet.Status.LastAppliedRevision = "main@sha1:0000000000000000000000000000000000000000"
		changes, err := Plan(DefaultDir, "starlab/starlab", render(t, s), tree)
		require.NoError(t, err)
		name := "status/starlab/cluster/" + s.Clusters[0].Name + ".yaml"
		assert.Contains(t, string(changes[name]), "phase: Failed")
		assert.Contains(t, changes, "status/README.md")
		assert.Contains(t, changes, "status/starlab/fleet/starlab.yaml", "the revision moves along with a real change")
		assert.NotContains(t, changes, "status/NOTES.md")
	})

	t.Run("an object is gone: its document is deleted, other Fleets' are not", func(t *testing.T) {
		other := render(t, kaist())
		withOther := maps.Clone(tree)
		maps.Copy(withOther, other)
		s := seed()
		gone := s.Clusters[len(s.Clusters)-1].Name
		s.Clusters = s.Clusters[:len(s.Clusters)-1]
		changes, err := Plan(DefaultDir, "starlab/starlab", render(t, s), withOther)
		require.NoError(t, err)
		assert.Contains(t, changes, "status/starlab/cluster/"+gone+".yaml")
		assert.Nil(t, changes["status/starlab/cluster/"+gone+".yaml"])
		for name := range other {
			if name != "status/README.md" {
				_, touched := changes[name]
				assert.False(t, touched, "another Fleet's document %s", name)
			}
		}
		assert.True(t, strings.Contains(string(changes["status/README.md"]), "kaist"), "the README sums up every Fleet in the directory")
	})
}

// What decides a status commit, as a reviewer follows a cluster: its phase, versions,
// readiness, condition reasons, registration and add-on errors do; source revisions and
// the wording of condition messages (CAPI's "2 of 3 Machines have healthy control plane
// components") do not, yet a commit made for another reason carries the latest message.
// The golden file of each case lists the commit's files and the changed cluster document.
func TestPlanDecides(t *testing.T) {
	const seoul = "status/starlab/cluster/seoul-edge-cluster.yaml"
	tree := committed(t, render(t, seed()))
	for _, tc := range []struct {
		name   string
		commit bool
		change func(c *automationv1alpha1.Cluster)
	}{
		{"revision-only", false, func(c *automationv1alpha1.Cluster) {
			c.Status.SourceRevision = "main@sha1:0000000000000000000000000000000000000000"
		}},
		{"message-rewording", false, func(c *automationv1alpha1.Cluster) {
			c.Status.Conditions[1].Message = "2 of 3 Machines have healthy control plane components"
		}},
		{"every-message-rewording", false, func(c *automationv1alpha1.Cluster) {
			for i := range c.Status.Conditions {
				c.Status.Conditions[i].Message += " (1 of 3 Machines up to date)"
			}
		}},
		{"phase-with-new-message", true, func(c *automationv1alpha1.Cluster) {
			c.Status.Phase = automationv1alpha1.ClusterPhaseReady
			c.Status.Conditions[1].Message = "3 of 3 Machines have healthy control plane components"
		}},
		{"workers-version", true, func(c *automationv1alpha1.Cluster) { c.Status.WorkersVersion = "v1.26.0" }},
		{"ready-status", true, func(c *automationv1alpha1.Cluster) { c.Status.Conditions[0].Status = "True" }},
		{"ready-reason", true, func(c *automationv1alpha1.Cluster) { c.Status.Conditions[0].Reason = "UpgradeFailed" }},
		{"new-condition", true, func(c *automationv1alpha1.Cluster) {
			c.Status.Conditions = append(c.Status.Conditions, metav1.Condition{Type: "Stalled", Status: "True", Reason: "MachineFailed", Message: "seoul-edge-cluster-md-0-x1 failed"})
		}},
		{"registration", true, func(c *automationv1alpha1.Cluster) { c.Status.EMCO.Registered = false }},
		{"addon-error", true, func(c *automationv1alpha1.Cluster) {
			c.Status.Addons[0].Applied, c.Status.Addons[0].Message = false, "HelmChartProxy kube-ovn-1-12: chart not found"
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := seed()
			require.Equal(t, "seoul-edge-cluster", s.Clusters[1].Name)
			tc.change(&s.Clusters[1])
			changes, err := Plan(DefaultDir, "starlab/starlab", render(t, s), tree)
			require.NoError(t, err)
			assert.Equal(t, tc.commit, changes != nil, "a commit")

			var b strings.Builder
			if changes == nil {
				b.WriteString("no commit\n")
			}
			for _, name := range slices.Sorted(maps.Keys(changes)) {
				b.WriteString("update " + name + "\n")
			}
			if doc, ok := changes[seoul]; ok {
				b.WriteString("\n--- " + seoul + "\n" + string(doc))
			}
			golden(t, "plan/"+tc.name, map[string][]byte{"commit.txt": []byte(b.String())})
		})
	}
}

// The controller skips Git when the digest did not move: a reworded message alone must not
// move it, a change of reason must.
func TestStateDigestIgnoresConditionMessages(t *testing.T) {
	base := StateDigest(render(t, seed()))
	s := seed()
	s.Clusters[1].Status.Conditions[1].Message = "2 of 3 Machines have healthy control plane components"
	assert.Equal(t, base, StateDigest(render(t, s)))
	s.Clusters[1].Status.Conditions[1].Reason = "WaitingForControlPlane"
	assert.NotEqual(t, base, StateDigest(render(t, s)))
}

// A refusal that changes its rule (a downgrade refused, then a skipped minor) is a new state:
// the Stalled message decides a commit, while a reworded Ready message alone still does not.
func TestPlanCommitsAStalledMessage(t *testing.T) {
	stalled := func(msg string) Snapshot {
		s := seed()
		s.Clusters[1].Status.Conditions = append(s.Clusters[1].Status.Conditions,
			metav1.Condition{Type: "Stalled", Status: "True", Reason: "UpgradeRefused", Message: msg})
		return s
	}
	tree := committed(t, render(t, stalled("kubernetesVersion v1.34.1 is older than v1.35.0 (rule no-downgrade)")))

	changes, err := Plan(DefaultDir, "starlab/starlab", render(t, stalled("kubernetesVersion v1.37.0 skips v1.36 (rule no-minor-skip)")), tree)
	require.NoError(t, err)
	assert.Contains(t, changes, "status/starlab/cluster/seoul-edge-cluster.yaml", "another rule: a commit")

	s := stalled("kubernetesVersion v1.34.1 is older than v1.35.0 (rule no-downgrade)")
	s.Clusters[1].Status.Conditions[1].Message = "2 of 3 Machines have healthy control plane components"
	changes, err = Plan(DefaultDir, "starlab/starlab", render(t, s), tree)
	require.NoError(t, err)
	assert.Nil(t, changes, "commentary alone: no commit")
}
