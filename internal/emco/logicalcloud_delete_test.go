package emco_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcn-ssu/lkaas/internal/emco"
	"github.com/dcn-ssu/lkaas/internal/emco/emcotest"
)

// TestDeleteLogicalCloudDeletesChildrenFirst holds DeleteLogicalCloud to the
// order real dcm needs: the emulator, like dcm, breaks a terminated cloud for
// good when it is asked to go while a child (reference, user permission,
// quota, kv-pair) is left (contract §4.5). The cloud must be gone, never
// broken, and asked to go exactly once, after its last child.
func TestDeleteLogicalCloudDeletesChildrenFirst(t *testing.T) {
	const lc = "lc0"
	level1 := emco.LogicalCloud{Metadata: emco.Metadata{Name: lc},
		Spec: emco.LogicalCloudSpec{Level: emco.LevelStandard, Namespace: "ns1", User: emco.User{UserName: "user1", Type: "certificate"}}}
	level0 := emco.LogicalCloud{Metadata: emco.Metadata{Name: lc}, Spec: emco.LogicalCloudSpec{Level: emco.LevelAdmin}}
	perm := emco.UserPermission{Metadata: emco.Metadata{Name: "namespace-admin"},
		Spec: emco.UserPermissionSpec{Namespace: "ns1", APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}}}

	cases := []struct {
		name        string
		cloud       emco.LogicalCloud
		perms       []emco.UserPermission
		instantiate bool
		terminate   bool // before DeleteLogicalCloud, as a finished detach leaves it
		quota, kv   bool // children someone else added by hand
	}{
		{name: "level 0, instantiated, two references", cloud: level0, instantiate: true},
		{name: "level 0, already terminated", cloud: level0, instantiate: true, terminate: true},
		{name: "level 0, never instantiated", cloud: level0},
		{name: "level 0, instantiated, with a kv-pair", cloud: level0, instantiate: true, kv: true},
		{name: "level 1, instantiated, permission, quota and kv-pair", cloud: level1, perms: []emco.UserPermission{perm}, instantiate: true, quota: true, kv: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			emu, url := emcotest.Start(t)
			c, err := emco.New(emco.Options{Endpoints: emco.SingleEndpoint(url), Timeout: 5 * time.Second,
				Retry: emco.RetryPolicy{Sleep: (&sleepRecorder{}).sleep}})
			require.NoError(t, err)
			setupBasics(t, c)
			registerCluster(t, c, "c1")
			registerCluster(t, c, "c2")
			_, err = c.EnsureLogicalCloud(ctx, project, tc.cloud)
			require.NoError(t, err)
			if tc.perms != nil {
				_, err = c.EnsureUserPermissions(ctx, project, lc, tc.perms)
				require.NoError(t, err)
			}
			_, err = c.EnsureClusterReferences(ctx, project, lc, []emco.ClusterReference{ref("c1"), ref("c2")})
			require.NoError(t, err)
			lcURL := url + "/v2/projects/" + project + "/logical-clouds/" + lc
			if tc.quota {
				post(t, lcURL+"/cluster-quotas", `{"metadata":{"name":"q1"},"spec":{"pods":"10"}}`)
			}
			if tc.kv {
				post(t, lcURL+"/kv-pairs", `{"metadata":{"name":"kv1"},"spec":{"kv":[{"owner":"ops"}]}}`)
			}
			if tc.instantiate {
				_, err = c.EnsureLogicalCloudDeployed(ctx, project, lc)
				require.NoError(t, err)
			}
			if tc.terminate {
				require.NoError(t, c.TerminateLogicalCloud(ctx, project, lc))
			}
			emu.ResetRequests()

			require.NoError(t, c.DeleteLogicalCloud(ctx, project, lc))

			_, exists := emu.State().LogicalCloud(project, lc)
			assert.False(t, exists, "the logical cloud is gone")
			cloudPath := "/v2/projects/" + project + "/logical-clouds/" + lc
			var cloudDeletes, lastChildDelete, cloudDelete int
			for i, r := range emu.Requests() {
				switch {
				case r.Method == http.MethodDelete && r.Path == cloudPath:
					cloudDeletes++
					cloudDelete = i
					assert.Equal(t, http.StatusNoContent, r.Status, "the cloud's DELETE is never refused")
				case r.Method == http.MethodDelete && strings.HasPrefix(r.Path, cloudPath+"/"):
					lastChildDelete = i
				}
			}
			assert.Equal(t, 1, cloudDeletes, "asked to go once")
			assert.Greater(t, cloudDelete, lastChildDelete, "after its last child")
		})
	}
}

// A cloud that a wrong-order DELETE already broke answers 500 where the client
// needs its status: DeleteLogicalCloud reports that, never "gone".
func TestDeleteLogicalCloudReportsABrokenCloud(t *testing.T) {
	ctx := context.Background()
	emu, url := emcotest.Start(t)
	c, err := emco.New(emco.Options{Endpoints: emco.SingleEndpoint(url), Timeout: 5 * time.Second,
		Retry: emco.RetryPolicy{MaxAttempts: 1}})
	require.NoError(t, err)
	setupBasics(t, c)
	registerCluster(t, c, "c1")
	_, err = c.EnsureLogicalCloud(ctx, project, emco.LogicalCloud{Metadata: emco.Metadata{Name: "lc0"}, Spec: emco.LogicalCloudSpec{Level: emco.LevelAdmin}})
	require.NoError(t, err)
	_, err = c.EnsureClusterReferences(ctx, project, "lc0", []emco.ClusterReference{ref("c1")})
	require.NoError(t, err)
	_, err = c.EnsureLogicalCloudDeployed(ctx, project, "lc0")
	require.NoError(t, err)
	require.NoError(t, c.TerminateLogicalCloud(ctx, project, "lc0"))
	lcURL := url + "/v2/projects/" + project + "/logical-clouds/lc0"
	req, err := http.NewRequest(http.MethodDelete, lcURL, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusConflict, resp.StatusCode, "the wrong order: refused, and the cloud broken")

	err = c.DeleteLogicalCloud(ctx, project, "lc0")
	require.Error(t, err)
	assert.Equal(t, http.StatusInternalServerError, emco.StatusCode(err), "%v", err)
	cloud, ok := emu.State().LogicalCloud(project, "lc0")
	require.True(t, ok)
	assert.True(t, cloud.Broken)
}

// post sends a JSON body to the emulator and requires 201.
func post(t *testing.T, u, body string) {
	t.Helper()
	resp, err := http.Post(u, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode, "POST %s", u)
}
