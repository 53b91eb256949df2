package apply

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
)

func TestPruneDeletesWhatTheRevisionRemovedAndOnlyThat(t *testing.T) {
	f := newFixture(t)
	ctx := ctxFor(t)

	_, inventory, err := f.applier.Apply(ctx, smallFleet(f.ns), nil, "r1")
	require.NoError(t, err)
	// An object of the namespace that is in no inventory: not the Fleet's to delete.
	bystander := cluster(f.ns, "hand-made", 1)
	require.NoError(t, env.Client.Create(ctx, bystander))

	// r2 drops c2 and the logical cluster.
	desired := smallFleet(f.ns)[:3]
	_, next, err := f.applier.Apply(ctx, desired, inventory, "r2")
	require.NoError(t, err)
	stale := Stale(inventory, next)
	require.Equal(t, []string{
		f.ns + "_c2_automation.dcn.ssu.ac.kr_Cluster",
		f.ns + "_mec_intent.automation.dcn.ssu.ac.kr_LogicalCluster",
	}, ids(stale))

	f.writes.reset()
	changes, err := f.applier.Prune(ctx, stale)
	require.NoError(t, err)
	// Dependents first: the logical cluster goes before the cluster.
	assert.Equal(t, []ChangeSetEntry{
		{ID: stale[1].ID, Subject: "LogicalCluster/" + f.ns + "/mec", Action: Deleted},
		{ID: stale[0].ID, Subject: "Cluster/" + f.ns + "/c2", Action: Deleted},
	}, changes.Entries)
	assert.EqualValues(t, 2, f.writes.deletes.Load())

	assertGone(t, f.ns, "c2")
	var kept automationv1alpha1.Cluster
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Namespace: f.ns, Name: "hand-made"}, &kept))
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Namespace: f.ns, Name: "c1"}, &kept))
}

func TestPruneOfAnObjectAlreadyGoneSendsNothing(t *testing.T) {
	f := newFixture(t)
	ctx := ctxFor(t)

	gone := []InventoryEntry{{ID: f.ns + "_ghost_automation.dcn.ssu.ac.kr_Cluster", Version: "v1alpha1"}}
	changes, err := f.applier.Prune(ctx, gone)
	require.NoError(t, err)
	assert.Equal(t, []string{gone[0].ID}, changes.IDs(Deleted))
	assert.Zero(t, f.writes.writes())
}

func TestPruneSkipsAnObjectAnotherFleetClaims(t *testing.T) {
	f := newFixture(t)
	ctx := ctxFor(t)

	other := New(f.applier.client, f.cache, Options{Fleet: types.NamespacedName{Namespace: f.ns, Name: "other"}})
	_, inventory, err := other.Apply(ctx, []client.Object{cluster(f.ns, "shared", 1)}, nil, "r1")
	require.NoError(t, err)

	f.writes.reset()
	changes, err := f.applier.Prune(ctx, inventory)
	require.NoError(t, err)
	assert.Equal(t, []string{inventory[0].ID}, changes.IDs(Skipped))
	assert.Zero(t, f.writes.deletes.Load())
}

func TestPruneRefusesAMalformedInventoryEntry(t *testing.T) {
	f := newFixture(t)
	_, err := f.applier.Prune(ctxFor(t), []InventoryEntry{{ID: "not-an-id", Version: "v1"}})
	require.ErrorContains(t, err, "not-an-id")
	assert.Zero(t, f.writes.writes())
}

func assertGone(t *testing.T, ns, name string) {
	t.Helper()
	var c automationv1alpha1.Cluster
	err := env.Client.Get(ctxFor(t), client.ObjectKey{Namespace: ns, Name: name}, &c)
	assert.True(t, apierrors.IsNotFound(err) || c.DeletionTimestamp != nil, "%s/%s still there", ns, name)
}

func ids(entries []InventoryEntry) []string {
	out := make([]string, 0, len(entries))
	for _, e := range entries {
		out = append(out, e.ID)
	}
	return out
}
