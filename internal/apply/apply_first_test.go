package apply

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
)

func TestFirstApplyCreatesEverythingAndReturnsAFullInventory(t *testing.T) {
	f := newFixture(t)
	ctx := ctxFor(t)

	changes, inventory, err := f.applier.Apply(ctx, smallFleet(f.ns), nil, "main@sha1:aaa")
	require.NoError(t, err)

	ns := f.ns
	wantIDs := []string{
		ns + "_c1_automation.dcn.ssu.ac.kr_Cluster",
		ns + "_c2_automation.dcn.ssu.ac.kr_Cluster",
		ns + "_mec_intent.automation.dcn.ssu.ac.kr_LogicalCluster",
		ns + "_medium_automation.dcn.ssu.ac.kr_ClusterCatalog",
		ns + "_small-infrastructure-1.0.0_automation.dcn.ssu.ac.kr_InfrastructureProfile",
	}
	var ids []string
	for _, e := range inventory {
		ids = append(ids, e.ID)
		assert.Len(t, e.Hash, hashLength, e.ID)
		want := "v1alpha1"
		if e.ID == wantIDs[2] {
			want = "v1"
		}
		assert.Equal(t, want, e.Version, e.ID)
	}
	assert.Equal(t, wantIDs, ids, "inventory sorted by ID")
	assert.ElementsMatch(t, wantIDs, changes.IDs(Created))
	assert.Equal(t, "5 created", changes.Summary())
	assert.EqualValues(t, 5, f.writes.applies.Load())
	assert.Zero(t, f.writes.reads.Load(), "the applier reads the cache, never the API server")

	// Staged order: profiles, catalogs, clusters, logical clusters.
	var kinds []string
	for _, e := range changes.Entries {
		ref, err := ParseEntry(InventoryEntry{ID: e.ID, Version: "v"})
		require.NoError(t, err)
		kinds = append(kinds, ref.GVK.Kind)
	}
	assert.Equal(t, []string{"InfrastructureProfile", "ClusterCatalog", "Cluster", "Cluster", "LogicalCluster"}, kinds)

	var c automationv1alpha1.Cluster
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "c1"}, &c))
	assert.Equal(t, "main@sha1:aaa", c.Annotations[automationv1alpha1.SourceRevisionAnnotation])
	assert.Equal(t, "fleet", c.Labels[FleetNameLabel])
	assert.Equal(t, ns, c.Labels[FleetNamespaceLabel])
	assert.Equal(t, "kr-seoul", c.Labels[automationv1alpha1.RegionLabel])
	assert.Equal(t, "starlab", c.Spec.Tenant)
	require.NotEmpty(t, c.ManagedFields)
	assert.Equal(t, DefaultFieldManager, c.ManagedFields[0].Manager)

	var lc intentv1.LogicalCluster
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "mec"}, &lc))
	assert.Len(t, lc.Spec.Clusters, 2)
}

func TestApplyRefusesTheWholeSetBeforeAnyWrite(t *testing.T) {
	f := newFixture(t)
	ctx := ctxFor(t)

	cases := map[string][]client.Object{
		"an object in another namespace": {cluster(f.ns, "ok", 1), cluster("elsewhere", "c", 1)},
		"a duplicate":                    {cluster(f.ns, "c", 1), cluster(f.ns, "c", 2)},
	}
	for name, desired := range cases {
		t.Run(name, func(t *testing.T) {
			_, _, err := f.applier.Apply(ctx, desired, nil, "r1")
			require.Error(t, err)
			assert.Zero(t, f.writes.writes())
		})
	}
}

func TestApplyReportsTheFailedObjectAndKeepsItsPreviousHash(t *testing.T) {
	f := newFixture(t)
	ctx := ctxFor(t)

	_, inventory, err := f.applier.Apply(ctx, []client.Object{cluster(f.ns, "c1", 1)}, nil, "r1")
	require.NoError(t, err)

	bad := cluster(f.ns, "c1", 2)
	bad.Spec.Infrastructure = nil // breaks the CRD rule: a cluster needs a catalog or infrastructure
	late := logicalCluster(f.ns, "mec", "edge-a")
	changes, next, err := f.applier.Apply(ctx, []client.Object{bad, late}, inventory, "r2")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Cluster/"+f.ns+"/c1")
	assert.Empty(t, changes.Entries, "the failed stage ends the pass")

	require.Len(t, next, 2, "every desired object stays in the inventory")
	assert.Equal(t, inventory[0], next[0], "the failed object keeps the hash of what is live")
	assert.Empty(t, next[1].Hash, "an object never applied has no hash, so the next pass applies it")
}
