package plan

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
	"github.com/dcn-ssu/lkaas/internal/resolve"
)

func existingPlan(name, lc, version string) *resolve.Plan {
	return &resolve.Plan{Namespace: "starlab", Name: name, LogicalCluster: lc,
		Existing: &resolve.ExistingPlan{KubeconfigSecret: name + "-kubeconfig", KubernetesVersion: version}}
}

// An existing member is marked as such when it joins, and a new version Git expects of it is
// shown as a field, never as an upgrade: version rules do not apply to what L-KaaS does not
// upgrade, so a "downgrade" is not blocked.
func TestPlanMarksExistingClusters(t *testing.T) {
	lcs := []*intentv1.LogicalCluster{mecCluster(member("core-cluster", 0), member("seoul-edge-cluster", 1))}
	base := &Snapshot{Label: "origin/main", LogicalClusters: lcs, Plans: []*resolve.Plan{clusterPlan("seoul-edge-cluster", "mec-cluster", "v1.25.0", 3)}}
	head := &Snapshot{Label: "HEAD", LogicalClusters: lcs, Plans: []*resolve.Plan{
		clusterPlan("seoul-edge-cluster", "mec-cluster", "v1.25.0", 3), existingPlan("core-cluster", "mec-cluster", "v1.31.0")}}
	r, err := Compare(base, head)
	require.NoError(t, err)
	require.Len(t, r.Clusters, 1)
	assert.Equal(t, ClusterChange{Namespace: "starlab", Name: "core-cluster", LogicalCluster: "mec-cluster", Action: Added,
		Existing: true, Version: "v1.31.0"}, r.Clusters[0])
	assert.Contains(t, r.text(), "+ cluster starlab/core-cluster (existing: no infrastructure written, never upgraded) (member of mec-cluster) Kubernetes v1.31.0")
	assert.Contains(t, r.markdown(), "| + | `starlab/core-cluster` (existing) | mec-cluster | v1.31.0 |")

	older := &Snapshot{Label: "HEAD", LogicalClusters: lcs, Plans: []*resolve.Plan{
		clusterPlan("seoul-edge-cluster", "mec-cluster", "v1.25.0", 3), existingPlan("core-cluster", "mec-cluster", "v1.29.0")}}
	r, err = Compare(head, older)
	require.NoError(t, err)
	require.Len(t, r.Clusters, 1)
	c := r.Clusters[0]
	assert.True(t, c.Existing)
	assert.Nil(t, c.Upgrade)
	assert.Nil(t, c.Blocked)
	assert.False(t, r.IsBlocked())
	assert.Equal(t, []FieldChange{{Field: "expected version (existing, not applied)", From: "v1.31.0", To: "v1.29.0"}}, c.Fields)
}
