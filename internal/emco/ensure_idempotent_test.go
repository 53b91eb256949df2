package emco_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcn-ssu/lkaas/internal/emco"
	"github.com/dcn-ssu/lkaas/internal/emco/emcotest"
)

// TestEnsureSendsNoWriteInSteadyState: each EnsureX converges on its first call
// and, called again with the same intent, reads only (the emulator counts writes).
func TestEnsureSendsNoWriteInSteadyState(t *testing.T) {
	ctx := context.Background()
	l1 := emco.LogicalCloud{Metadata: emco.Metadata{Name: "lc1"},
		Spec: emco.LogicalCloudSpec{Level: emco.LevelStandard, Namespace: "ns1", User: emco.User{UserName: "user1", Type: "certificate"}}}
	perms := []emco.UserPermission{{Metadata: emco.Metadata{Name: "primary"},
		Spec: emco.UserPermissionSpec{Namespace: "ns1", APIGroups: []string{"", "apps"}, Resources: []string{"*"}, Verbs: []string{"*"}}}}

	cases := []struct {
		name  string
		setup func(t *testing.T, c *emco.Client)
		first emco.Change
		run   func(c *emco.Client) (emco.Change, error)
	}{
		{"project", nil, emco.Created, func(c *emco.Client) (emco.Change, error) {
			return c.EnsureProject(ctx, emco.Project{Metadata: emco.Metadata{Name: project, Description: "tenant a"}})
		}},
		{"rsync controller", nil, emco.Created, func(c *emco.Client) (emco.Change, error) {
			return c.EnsureRsyncController(ctx, "rsync.emco", 9031)
		}},
		{"cluster provider", nil, emco.Created, func(c *emco.Client) (emco.Change, error) {
			return c.EnsureClusterProvider(ctx, emco.ClusterProvider{Metadata: emco.Metadata{Name: provider}})
		}},
		{"cluster", setupBasics, emco.Created, func(c *emco.Client) (emco.Change, error) {
			return c.EnsureCluster(ctx, emco.ClusterRegistration{Provider: provider, Cluster: emco.Metadata{Name: "c1"}, Kubeconfig: kubeconfigFor("c1", "v1"), Project: project})
		}},
		{"cluster labels", func(t *testing.T, c *emco.Client) { setupBasics(t, c); registerCluster(t, c, "c1") }, emco.Updated,
			func(c *emco.Client) (emco.Change, error) {
				return c.EnsureClusterLabels(ctx, provider, "c1", emco.LabelsFor(map[string]string{
					"automation.dcn.ssu.ac.kr/location": "kr-seoul", "automation.dcn.ssu.ac.kr/tenant": "tenant-a"}))
			}},
		{"cluster kv-pairs", func(t *testing.T, c *emco.Client) { setupBasics(t, c); registerCluster(t, c, "c1") }, emco.Created,
			func(c *emco.Client) (emco.Change, error) {
				return c.EnsureClusterKvPair(ctx, provider, "c1", emco.ClusterKvPair{Metadata: emco.Metadata{Name: "lkaas"},
					Spec: emco.KvPairsSpec{KV: []map[string]any{{"region": "kr"}, {"zone": "seoul-1"}}}})
			}},
		{"level-0 logical cloud", setupBasics, emco.Created, func(c *emco.Client) (emco.Change, error) {
			return c.EnsureLogicalCloud(ctx, project, emco.LogicalCloud{Metadata: emco.Metadata{Name: "lc0"}, Spec: emco.LogicalCloudSpec{Level: emco.LevelAdmin}})
		}},
		{"level-1 logical cloud", setupBasics, emco.Created, func(c *emco.Client) (emco.Change, error) {
			return c.EnsureLogicalCloud(ctx, project, l1)
		}},
		{"user permissions", func(t *testing.T, c *emco.Client) {
			setupBasics(t, c)
			_, err := c.EnsureLogicalCloud(ctx, project, l1)
			require.NoError(t, err)
		}, emco.Updated, func(c *emco.Client) (emco.Change, error) { return c.EnsureUserPermissions(ctx, project, "lc1", perms) }},
		{"cluster references", func(t *testing.T, c *emco.Client) {
			setupBasics(t, c)
			registerCluster(t, c, "c1")
			registerCluster(t, c, "c2")
			_, err := c.EnsureLogicalCloud(ctx, project, emco.LogicalCloud{Metadata: emco.Metadata{Name: "lc0"}, Spec: emco.LogicalCloudSpec{Level: emco.LevelAdmin}})
			require.NoError(t, err)
		}, emco.Updated, func(c *emco.Client) (emco.Change, error) {
			return c.EnsureClusterReferences(ctx, project, "lc0", []emco.ClusterReference{ref("c1"), ref("c2")})
		}},
		{"deployment", func(t *testing.T, c *emco.Client) {
			setupBasics(t, c)
			registerCluster(t, c, "c1")
			_, err := c.EnsureLogicalCloud(ctx, project, emco.LogicalCloud{Metadata: emco.Metadata{Name: "lc0"}, Spec: emco.LogicalCloudSpec{Level: emco.LevelAdmin}})
			require.NoError(t, err)
			_, err = c.EnsureClusterReferences(ctx, project, "lc0", []emco.ClusterReference{ref("c1")})
			require.NoError(t, err)
		}, emco.Created, func(c *emco.Client) (emco.Change, error) { return c.EnsureLogicalCloudDeployed(ctx, project, "lc0") }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, "ingress")
			if tc.setup != nil {
				tc.setup(t, h.client)
			}
			change, err := tc.run(h.client)
			require.NoError(t, err)
			assert.Equal(t, tc.first, change, "first call converges")

			h.emu.ResetRequests()
			change, err = tc.run(h.client)
			require.NoError(t, err)
			assert.Equal(t, emco.Unchanged, change)
			assert.Empty(t, h.emu.Writes(), "second call must not write")
			assert.NotEmpty(t, h.emu.Requests(), "second call reads")
		})
	}
}

// TestEnsureConvergesChanges: a changed intent is written, and only the difference.
func TestEnsureConvergesChanges(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, "ingress")
	c := h.client
	setupBasics(t, c)
	registerCluster(t, c, "c1")

	_, err := c.EnsureClusterLabels(ctx, provider, "c1", []string{"a", "b"})
	require.NoError(t, err)
	h.emu.ResetRequests()
	change, err := c.EnsureClusterLabels(ctx, provider, "c1", []string{"b", "c"})
	require.NoError(t, err)
	assert.Equal(t, emco.Updated, change)
	writes := h.emu.Writes()
	require.Len(t, writes, 2, "add c, remove a")
	assert.Equal(t, "POST", writes[0].Method)
	assert.Equal(t, "/v2/cluster-providers/tenant-a/clusters/c1/labels/a", writes[1].Path)
	got, _ := h.emu.State().Cluster(provider, "c1")
	assert.ElementsMatch(t, []string{"b", "c"}, got.Labels)

	_, err = c.EnsureClusterLabels(ctx, provider, "c1", []string{"bad/label"})
	var invalid *emco.InvalidLabelError
	assert.ErrorAs(t, err, &invalid)

	change, err = c.EnsureRsyncController(ctx, "rsync.other", 9031)
	require.NoError(t, err)
	assert.Equal(t, emco.Updated, change)
	assert.Equal(t, "rsync.other:9031", h.emu.State().Controllers["rsync"])

	change, err = c.EnsureClusterKvPair(ctx, provider, "c1", emco.ClusterKvPair{Metadata: emco.Metadata{Name: "kv"}, Spec: emco.KvPairsSpec{KV: []map[string]any{{"a": "1"}}}})
	require.NoError(t, err)
	assert.Equal(t, emco.Created, change)
	change, err = c.EnsureClusterKvPair(ctx, provider, "c1", emco.ClusterKvPair{Metadata: emco.Metadata{Name: "kv"}, Spec: emco.KvPairsSpec{KV: []map[string]any{{"a": "2"}}}})
	require.NoError(t, err)
	assert.Equal(t, emco.Updated, change)
	got, _ = h.emu.State().Cluster(provider, "c1")
	assert.Equal(t, "2", got.KvPairs["kv"][0]["a"])

	_, err = c.EnsureLogicalCloud(ctx, project, emco.LogicalCloud{Metadata: emco.Metadata{Name: "lc"}, Spec: emco.LogicalCloudSpec{Level: emco.LevelAdmin}})
	require.NoError(t, err)
	_, err = c.EnsureLogicalCloud(ctx, project, emco.LogicalCloud{Metadata: emco.Metadata{Name: "lc"}, Spec: emco.LogicalCloudSpec{Level: emco.LevelStandard}})
	assert.ErrorIs(t, err, emco.ErrLevelChange)
	change, err = c.EnsureLogicalCloud(ctx, project, emco.LogicalCloud{Metadata: emco.Metadata{Name: "lc", Description: "now described"}, Spec: emco.LogicalCloudSpec{Level: emco.LevelAdmin}})
	require.NoError(t, err)
	assert.Equal(t, emco.Updated, change)
}

// TestEnsureTreatsConflictAsExists: a resource created by someone else between
// our read and our write (409) counts as present.
func TestEnsureTreatsConflictAsExists(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, "ingress")
	setupBasics(t, h.client)
	// The read misses the project (as if another writer created it just after).
	h.emu.AddFault(emcotest.Fault{Method: "GET", PathPrefix: "/v2/projects/" + project, Status: 404, Body: "Project not found", Times: 1})
	change, err := h.client.EnsureProject(ctx, emco.Project{Metadata: emco.Metadata{Name: project}})
	require.NoError(t, err)
	assert.Equal(t, emco.Unchanged, change)

	h.emu.AddFault(emcotest.Fault{Method: "GET", PathPrefix: "/v2/cluster-providers/" + provider + "/clusters/c1", Status: 404, Body: "Cluster not found", Times: 1})
	registerCluster(t, h.client, "c1")
	h.emu.AddFault(emcotest.Fault{Method: "GET", PathPrefix: "/v2/cluster-providers/" + provider + "/clusters/c1", Status: 404, Body: "Cluster not found", Times: 1})
	change, err = h.client.EnsureCluster(ctx, emco.ClusterRegistration{Provider: provider, Cluster: emco.Metadata{Name: "c1"}, Kubeconfig: kubeconfigFor("c1", "v1")})
	require.NoError(t, err)
	assert.Equal(t, emco.Unchanged, change, "409 on create, then the stored kubeconfig matches")
}
