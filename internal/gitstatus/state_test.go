package gitstatus

import (
	"maps"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
