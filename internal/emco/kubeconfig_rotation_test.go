package emco_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcn-ssu/lkaas/internal/emco"
)

// rotationFixture: c1 and c2 registered; c1 has labels and kv-pairs and is
// referenced by lc0 (instantiated, with c2) and lc-idle (never instantiated).
func rotationFixture(t *testing.T, mode string) harness {
	t.Helper()
	ctx := context.Background()
	h := newHarness(t, mode)
	c := h.client
	setupBasics(t, c)
	registerCluster(t, c, "c1")
	registerCluster(t, c, "c2")
	_, err := c.EnsureClusterLabels(ctx, provider, "c1", []string{"location-kr-seoul", "tenant-tenant-a"})
	require.NoError(t, err)
	_, err = c.EnsureClusterKvPair(ctx, provider, "c1", emco.ClusterKvPair{Metadata: emco.Metadata{Name: "lkaas"},
		Spec: emco.KvPairsSpec{KV: []map[string]any{{"region": "kr"}}}})
	require.NoError(t, err)
	for _, lc := range []string{"lc0", "lc-idle"} {
		_, err = c.EnsureLogicalCloud(ctx, project, emco.LogicalCloud{Metadata: emco.Metadata{Name: lc}, Spec: emco.LogicalCloudSpec{Level: emco.LevelAdmin}})
		require.NoError(t, err)
	}
	_, err = c.EnsureClusterReferences(ctx, project, "lc0", []emco.ClusterReference{ref("c1"), ref("c2")})
	require.NoError(t, err)
	_, err = c.EnsureClusterReferences(ctx, project, "lc-idle", []emco.ClusterReference{ref("c1")})
	require.NoError(t, err)
	_, err = c.EnsureLogicalCloudDeployed(ctx, project, "lc0")
	require.NoError(t, err)
	h.emu.ResetRequests()
	return h
}

func TestKubeconfigRotationFollowsTheContractOrder(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			h := rotationFixture(t, mode)
			before := h.emu.State()

			change, err := h.client.EnsureCluster(context.Background(), emco.ClusterRegistration{
				Provider: provider, Cluster: emco.Metadata{Name: "c1"}, Kubeconfig: kubeconfigFor("c1", "v2"), Project: project,
			})
			require.NoError(t, err)
			assert.Equal(t, emco.Replaced, change)

			const cl = "/v2/cluster-providers/tenant-a/clusters/c1"
			const lcs = "/v2/projects/proj1/logical-clouds/"
			var got []string
			for _, r := range h.emu.Writes() {
				got = append(got, r.Method+" "+r.Path)
			}
			assert.Equal(t, []string{
				// 1. references, labels and kv-pairs go first
				"DELETE " + lcs + "lc0/cluster-references/c1",
				"DELETE " + lcs + "lc-idle/cluster-references/c1",
				"DELETE " + cl + "/labels/location-kr-seoul",
				"DELETE " + cl + "/labels/tenant-tenant-a",
				"DELETE " + cl + "/kv-pairs/lkaas",
				// 2. delete and re-create (no PUT exists)
				"DELETE " + cl,
				"POST /v2/cluster-providers/tenant-a/clusters",
				// 3. restore
				"POST " + cl + "/kv-pairs",
				"POST " + cl + "/labels",
				"POST " + cl + "/labels",
				"POST " + lcs + "lc0/cluster-references",
				"POST " + lcs + "lc-idle/cluster-references",
				// 4. update the instantiated logical cloud only
				"POST " + lcs + "lc0/update",
			}, got)
			for _, r := range h.emu.Writes() {
				assert.Less(t, r.Status, 300, "%s %s", r.Method, r.Path)
			}

			after := h.emu.State()
			c1, _ := after.Cluster(provider, "c1")
			assert.Equal(t, kubeconfigFor("c1", "v2"), c1.Kubeconfig)
			old, _ := before.Cluster(provider, "c1")
			assert.Equal(t, old.Labels, c1.Labels, "labels restored")
			assert.Equal(t, old.KvPairs, c1.KvPairs, "kv-pairs restored")
			for _, name := range []string{"lc0", "lc-idle"} {
				was, _ := before.LogicalCloud(project, name)
				now, _ := after.LogicalCloud(project, name)
				assert.ElementsMatch(t, was.References, now.References, "references of %s restored", name)
			}
			lc0, _ := after.LogicalCloud(project, "lc0")
			assert.Equal(t, []string{"Created", "Instantiated", "Updated"}, lc0.Actions)
			assert.Equal(t, "Instantiated", lc0.DeployedStatus)

			h.emu.ResetRequests()
			change, err = h.client.EnsureCluster(context.Background(), emco.ClusterRegistration{
				Provider: provider, Cluster: emco.Metadata{Name: "c1"}, Kubeconfig: kubeconfigFor("c1", "v2"), Project: project,
			})
			require.NoError(t, err)
			assert.Equal(t, emco.Unchanged, change)
			assert.Empty(t, h.emu.Writes())
		})
	}
}

func TestKubeconfigRotationWaitsForABusyLogicalCloud(t *testing.T) {
	h := rotationFixture(t, "ingress")
	h.emu.HoldTransitions(true)
	require.NoError(t, h.client.InstantiateLogicalCloud(context.Background(), project, "lc-idle"))
	h.emu.ResetRequests()

	_, err := h.client.ReplaceClusterKubeconfig(context.Background(), emco.ClusterRegistration{
		Provider: provider, Cluster: emco.Metadata{Name: "c1"}, Kubeconfig: kubeconfigFor("c1", "v2"), Project: project,
	})
	require.ErrorIs(t, err, emco.ErrLogicalCloudBusy)
	var rot *emco.RotationError
	require.ErrorAs(t, err, &rot)
	assert.Empty(t, h.emu.Writes(), "nothing is touched while a cloud is instantiating")
}

func TestKubeconfigRotationPutsBackWhatItRemovedWhenClmRefuses(t *testing.T) {
	h := rotationFixture(t, "ingress")
	ctx := context.Background()
	// A reference from a project the registrar does not scan keeps clm refusing the delete.
	_, err := h.client.EnsureProject(ctx, emco.Project{Metadata: emco.Metadata{Name: "other"}})
	require.NoError(t, err)
	_, err = h.client.EnsureLogicalCloud(ctx, "other", emco.LogicalCloud{Metadata: emco.Metadata{Name: "foreign"}, Spec: emco.LogicalCloudSpec{Level: emco.LevelAdmin}})
	require.NoError(t, err)
	_, err = h.client.EnsureClusterReferences(ctx, "other", "foreign", []emco.ClusterReference{ref("c1")})
	require.NoError(t, err)
	before := h.emu.State()

	_, err = h.client.ReplaceClusterKubeconfig(ctx, emco.ClusterRegistration{
		Provider: provider, Cluster: emco.Metadata{Name: "c1"}, Kubeconfig: kubeconfigFor("c1", "v2"), Project: project,
	})
	var rot *emco.RotationError
	require.ErrorAs(t, err, &rot)
	assert.Equal(t, "deleting the cluster", rot.Stage)
	assert.True(t, emco.IsConflict(err))

	after := h.emu.State()
	c1, _ := after.Cluster(provider, "c1")
	old, _ := before.Cluster(provider, "c1")
	assert.Equal(t, kubeconfigFor("c1", "v1"), c1.Kubeconfig, "the old registration stays")
	assert.ElementsMatch(t, old.Labels, c1.Labels)
	assert.Equal(t, old.KvPairs, c1.KvPairs)
	for _, name := range []string{"lc0", "lc-idle"} {
		was, _ := before.LogicalCloud(project, name)
		now, _ := after.LogicalCloud(project, name)
		assert.ElementsMatch(t, was.References, now.References)
	}
}
