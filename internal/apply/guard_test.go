package apply

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
)

func TestDeletionGuard(t *testing.T) {
	percent := func(p int32) *automationv1alpha1.DeletionGuard {
		return &automationv1alpha1.DeletionGuard{MaxClusterDeletionPercent: p}
	}
	cases := []struct {
		name     string
		deletion ClusterDeletion
		guard    *automationv1alpha1.DeletionGuard
		approved string
		held     string // the error message, empty when the revision may go ahead
	}{
		{name: "nothing deleted", deletion: ClusterDeletion{Total: 4}},
		{name: "an empty fleet", deletion: ClusterDeletion{}},
		{name: "half is allowed by default", deletion: ClusterDeletion{Total: 4, Deleted: 2}},
		{
			name: "more than half is held by default", deletion: ClusterDeletion{Total: 4, Deleted: 3},
			held: "revision r2 would delete 3 of 4 clusters (75%), more than the allowed 50%; approve with annotation automation.dcn.ssu.ac.kr/approve-deletion=r2",
		},
		{name: "a custom share allows more", deletion: ClusterDeletion{Total: 4, Deleted: 3}, guard: percent(80)},
		{
			name: "a custom share holds less", deletion: ClusterDeletion{Total: 10, Deleted: 2}, guard: percent(10),
			held: "revision r2 would delete 2 of 10 clusters (20%), more than the allowed 10%; approve with annotation automation.dcn.ssu.ac.kr/approve-deletion=r2",
		},
		{
			name: "zero percent holds any deletion", deletion: ClusterDeletion{Total: 10, Deleted: 1}, guard: percent(0),
			held: "revision r2 would delete 1 of 10 clusters (10%), more than the allowed 0%; approve with annotation automation.dcn.ssu.ac.kr/approve-deletion=r2",
		},
		{
			name: "deleting all is held even at 100%", deletion: ClusterDeletion{Total: 3, Deleted: 3}, guard: percent(100),
			held: "revision r2 would delete all 3 clusters of the fleet; approve with annotation automation.dcn.ssu.ac.kr/approve-deletion=r2",
		},
		{
			name: "deleting the only cluster is deleting all", deletion: ClusterDeletion{Total: 1, Deleted: 1},
			held: "revision r2 would delete all 1 clusters of the fleet; approve with annotation automation.dcn.ssu.ac.kr/approve-deletion=r2",
		},
		{name: "approval for this revision lets it go", deletion: ClusterDeletion{Total: 3, Deleted: 3}, approved: "r2"},
		{
			name: "approval for another revision does not", deletion: ClusterDeletion{Total: 4, Deleted: 3}, approved: "r1",
			held: "revision r2 would delete 3 of 4 clusters (75%), more than the allowed 50%; approve with annotation automation.dcn.ssu.ac.kr/approve-deletion=r2",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckDeletionGuard(tc.deletion, tc.guard, tc.approved, "r2")
			if tc.held == "" {
				assert.NoError(t, err)
				return
			}
			var held *DeletionHeldError
			require.ErrorAs(t, err, &held)
			assert.Equal(t, tc.held, err.Error())
			assert.Equal(t, tc.deletion, held.Deletion)
		})
	}
}

// A removed LogicalCluster deletes all its members, a kept one the members it lost; the member
// lists come from the live object (cache) and the desired one.
func TestPlanClusterDeletionCountsLogicalClusterMembers(t *testing.T) {
	f := newFixture(t)
	ctx := ctxFor(t)

	// 2 clusters + 3 members of "mec" + 2 members of "core" = 7 clusters.
	all := []client.Object{
		cluster(f.ns, "c1", 1),
		cluster(f.ns, "c2", 1),
		logicalCluster(f.ns, "mec", "edge-a", "edge-b", "edge-c"),
		logicalCluster(f.ns, "core", "core-a", "core-b"),
	}
	_, inventory, err := f.applier.Apply(ctx, all, nil, "r1")
	require.NoError(t, err)

	cases := []struct {
		name    string
		desired []client.Object
		want    ClusterDeletion
	}{
		{name: "unchanged", desired: all, want: ClusterDeletion{Total: 7}},
		{name: "one cluster removed", desired: []client.Object{all[0], all[2], all[3]}, want: ClusterDeletion{Total: 7, Deleted: 1}},
		{name: "a logical cluster removed", desired: []client.Object{all[0], all[1], all[3]}, want: ClusterDeletion{Total: 7, Deleted: 3}},
		{
			name:    "members removed from a kept logical cluster",
			desired: []client.Object{all[0], all[1], logicalCluster(f.ns, "mec", "edge-a", "edge-new"), all[3]},
			want:    ClusterDeletion{Total: 7, Deleted: 2},
		},
		{name: "everything removed", desired: nil, want: ClusterDeletion{Total: 7, Deleted: 7}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := f.applier.PlanClusterDeletion(ctx, inventory, tc.desired)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}

	// Removing "mec" alone deletes 3 of 7 (43%): allowed; removing "mec" and a cluster, 4 of 7: held.
	d, err := f.applier.PlanClusterDeletion(ctx, inventory, []client.Object{all[0], all[3]})
	require.NoError(t, err)
	assert.ErrorContains(t, CheckDeletionGuard(d, nil, "", "r2"), "would delete 4 of 7 clusters (57%)")
}
