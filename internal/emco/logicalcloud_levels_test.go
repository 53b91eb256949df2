package emco_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcn-ssu/lkaas/internal/emco"
)

func TestLogicalCloudLevels(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name  string
		cloud emco.LogicalCloud
		perms []emco.UserPermission
		check func(t *testing.T, lc emco.LogicalCloud)
	}{
		{
			name:  "level 0 reuses the admin kubeconfig; dcm writes the namespace",
			cloud: emco.LogicalCloud{Metadata: emco.Metadata{Name: "lc0"}, Spec: emco.LogicalCloudSpec{Level: emco.LevelAdmin}},
			check: func(t *testing.T, lc emco.LogicalCloud) { assert.Equal(t, "default", lc.Spec.Namespace) },
		},
		{
			name: "level 1 with namespace, user and permissions",
			cloud: emco.LogicalCloud{Metadata: emco.Metadata{Name: "lc1"}, Spec: emco.LogicalCloudSpec{
				Level: emco.LevelStandard, Namespace: "tenant-a", User: emco.User{UserName: "tenant-a-user", Type: "certificate"}}},
			perms: []emco.UserPermission{
				{Metadata: emco.Metadata{Name: "primary"}, Spec: emco.UserPermissionSpec{Namespace: "tenant-a", APIGroups: []string{"", "apps"}, Resources: []string{"*"}, Verbs: []string{"*"}}},
				{Metadata: emco.Metadata{Name: "cluster-read"}, Spec: emco.UserPermissionSpec{Namespace: "", APIGroups: []string{""}, Resources: []string{"nodes"}, Verbs: []string{"get", "list"}}},
			},
			check: func(t *testing.T, lc emco.LogicalCloud) {
				assert.Equal(t, "tenant-a", lc.Spec.Namespace)
				assert.Equal(t, "tenant-a-user", lc.Spec.User.UserName)
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, "split")
			c := h.client
			setupBasics(t, c)
			for _, m := range []string{"c1", "c2", "c3", "c4"} {
				registerCluster(t, c, m)
			}
			name := tc.cloud.Metadata.Name
			_, err := c.EnsureLogicalCloud(ctx, project, tc.cloud)
			require.NoError(t, err)
			if tc.perms != nil {
				_, err = c.EnsureUserPermissions(ctx, project, name, tc.perms)
				require.NoError(t, err)
			}
			_, err = c.EnsureClusterReferences(ctx, project, name, []emco.ClusterReference{ref("c1"), ref("c2"), ref("c3"), ref("c4")})
			require.NoError(t, err)
			change, err := c.EnsureLogicalCloudDeployed(ctx, project, name)
			require.NoError(t, err)
			assert.Equal(t, emco.Created, change, "instantiated once")

			lc, err := c.GetLogicalCloud(ctx, project, name)
			require.NoError(t, err)
			tc.check(t, *lc)
			state, _ := h.emu.State().LogicalCloud(project, name)
			assert.Len(t, state.DeployedClusters, 4)

			// A member leaves: reference removed, then /update (not a second instantiate).
			_, err = c.EnsureClusterReferences(ctx, project, name, []emco.ClusterReference{ref("c1"), ref("c2"), ref("c3")})
			require.NoError(t, err)
			change, err = c.EnsureLogicalCloudDeployed(ctx, project, name)
			require.NoError(t, err)
			assert.Equal(t, emco.Updated, change)
			state, _ = h.emu.State().LogicalCloud(project, name)
			assert.Equal(t, []string{"Created", "Instantiated", "Updated"}, state.Actions)
			assert.ElementsMatch(t, []string{"tenant-a+c1", "tenant-a+c2", "tenant-a+c3"}, state.DeployedClusters)
			require.NoError(t, c.DeleteCluster(ctx, provider, "c4"), "an unreferenced member can be deregistered")

			// Steady state.
			h.emu.ResetRequests()
			change, err = c.EnsureLogicalCloudDeployed(ctx, project, name)
			require.NoError(t, err)
			assert.Equal(t, emco.Unchanged, change)
			assert.Empty(t, h.emu.Writes())

			// Deletion in dcm's order: terminate, references and permissions, cloud.
			h.emu.ResetRequests()
			require.NoError(t, c.DeleteLogicalCloud(ctx, project, name))
			writes := h.emu.Writes()
			require.NotEmpty(t, writes)
			assert.Equal(t, "/v2/projects/proj1/logical-clouds/"+name+"/terminate", writes[0].Path)
			assert.Equal(t, "DELETE", writes[len(writes)-1].Method)
			assert.Equal(t, "/v2/projects/proj1/logical-clouds/"+name, writes[len(writes)-1].Path)
			_, found := h.emu.State().LogicalCloud(project, name)
			assert.False(t, found)
			require.NoError(t, c.DeleteLogicalCloud(ctx, project, name), "deleting again is a no-op")
		})
	}
}

func TestLevel1WithoutPrimaryPermissionIsRefused(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, "ingress")
	c := h.client
	setupBasics(t, c)
	registerCluster(t, c, "c1")
	_, err := c.EnsureLogicalCloud(ctx, project, emco.LogicalCloud{Metadata: emco.Metadata{Name: "lc1"},
		Spec: emco.LogicalCloudSpec{Namespace: "ns1", User: emco.User{UserName: "u", Type: "certificate"}}})
	require.NoError(t, err)
	_, err = c.EnsureClusterReferences(ctx, project, "lc1", []emco.ClusterReference{ref("c1")})
	require.NoError(t, err)
	_, err = c.EnsureLogicalCloudDeployed(ctx, project, "lc1")
	assert.Equal(t, 500, emco.StatusCode(err), "no permission at all surfaces as a generic 500")
}

// dcm refuses a user permission whose apiGroups, resources or verbs is null;
// a Go caller's nil list must reach it as [].
func TestUserPermissionNilListsAreSentEmpty(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, "ingress")
	c := h.client
	setupBasics(t, c)
	_, err := c.EnsureLogicalCloud(ctx, project, emco.LogicalCloud{Metadata: emco.Metadata{Name: "lc1"},
		Spec: emco.LogicalCloudSpec{Namespace: "ns1", User: emco.User{UserName: "u", Type: "certificate"}}})
	require.NoError(t, err)
	perm := emco.UserPermission{Metadata: emco.Metadata{Name: "read-pods"},
		Spec: emco.UserPermissionSpec{Namespace: "ns1", Resources: []string{"pods"}, Verbs: []string{"get"}}}
	_, err = c.EnsureUserPermissions(ctx, project, "lc1", []emco.UserPermission{perm})
	require.NoError(t, err)
	change, err := c.EnsureUserPermissions(ctx, project, "lc1", []emco.UserPermission{perm})
	require.NoError(t, err)
	assert.Equal(t, emco.Unchanged, change, "nil and [] are the same permission")
	cloud, _ := h.emu.State().LogicalCloud(project, "lc1")
	assert.Equal(t, []string{"read-pods"}, cloud.Permissions)
}

func TestLogicalCloudGuards(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, "ingress")
	c := h.client
	setupBasics(t, c)
	registerCluster(t, c, "c1")
	_, err := c.EnsureLogicalCloud(ctx, project, emco.LogicalCloud{Metadata: emco.Metadata{Name: "lc0"}, Spec: emco.LogicalCloudSpec{Level: emco.LevelAdmin}})
	require.NoError(t, err)

	change, err := c.EnsureLogicalCloudDeployed(ctx, project, "lc0")
	require.NoError(t, err)
	assert.Equal(t, emco.Unchanged, change, "nothing to instantiate without references")

	_, err = c.EnsureClusterReferences(ctx, project, "lc0", []emco.ClusterReference{ref("c1")})
	require.NoError(t, err)
	h.emu.HoldTransitions(true)
	_, err = c.EnsureLogicalCloudDeployed(ctx, project, "lc0")
	require.NoError(t, err)

	_, err = c.EnsureLogicalCloudDeployed(ctx, project, "lc0")
	assert.ErrorIs(t, err, emco.ErrLogicalCloudBusy, "rsync still instantiating")
	registerCluster(t, c, "c2")
	_, err = c.EnsureClusterReferences(ctx, project, "lc0", []emco.ClusterReference{ref("c1"), ref("c2")})
	assert.ErrorIs(t, err, emco.ErrLogicalCloudBusy, "dcm locks references while instantiating")
	assert.True(t, emco.IsConflict(err))
	assert.ErrorIs(t, c.DeleteLogicalCloud(ctx, project, "lc0"), emco.ErrLogicalCloudBusy)

	h.emu.CompleteTransitions()
	h.emu.ResetRequests()
	_, err = c.EnsureClusterReferences(ctx, project, "lc0", nil)
	assert.ErrorIs(t, err, emco.ErrWouldStrandLogicalCloud)
	assert.Empty(t, h.emu.Writes(), "the last reference of an instantiated cloud is kept")

	// Deleting goes through terminate; while rsync terminates the caller retries.
	assert.ErrorIs(t, c.DeleteLogicalCloud(ctx, project, "lc0"), emco.ErrLogicalCloudBusy)
	h.emu.CompleteTransitions()
	require.NoError(t, c.DeleteLogicalCloud(ctx, project, "lc0"))
}

func TestDeleteOfAStuckLogicalCloudExplainsTheWayOut(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, "ingress")
	c := h.client
	setupBasics(t, c)
	registerCluster(t, c, "c1")
	_, err := c.EnsureLogicalCloud(ctx, project, emco.LogicalCloud{Metadata: emco.Metadata{Name: "lc0"}, Spec: emco.LogicalCloudSpec{Level: emco.LevelAdmin}})
	require.NoError(t, err)
	_, err = c.EnsureClusterReferences(ctx, project, "lc0", []emco.ClusterReference{ref("c1")})
	require.NoError(t, err)
	_, err = c.EnsureLogicalCloudDeployed(ctx, project, "lc0")
	require.NoError(t, err)
	require.NoError(t, c.DeleteClusterReference(ctx, project, "lc0", "c1"), "raw API lets the last reference go")

	err = c.DeleteLogicalCloud(ctx, project, "lc0")
	assert.ErrorContains(t, err, "re-added")
	assert.True(t, emco.IsBadRequest(err))
}
