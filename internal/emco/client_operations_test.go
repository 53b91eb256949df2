package emco_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcn-ssu/lkaas/internal/emco"
)

// TestClientOperations runs every client operation against the emulator, on
// one ingress URL and on separate service URLs, checking results and the
// status codes EMCO gives.
func TestClientOperations(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			h := newHarness(t, mode)
			c := h.client
			ctx := context.Background()
			steps := []struct {
				name       string
				run        func() error
				wantStatus int // 0: success
			}{
				{"create project", func() error { return c.CreateProject(ctx, emco.Project{Metadata: emco.Metadata{Name: project}}) }, 0},
				{"duplicate project is 409", func() error { return c.CreateProject(ctx, emco.Project{Metadata: emco.Metadata{Name: project}}) }, http.StatusConflict},
				{"get project", func() error {
					p, err := c.GetProject(ctx, project)
					if err == nil {
						assert.Equal(t, project, p.Metadata.Name)
					}
					return err
				}, 0},
				{"missing project is 404", func() error { _, err := c.GetProject(ctx, "nope"); return err }, http.StatusNotFound},
				{"list projects", func() error {
					ps, err := c.ListProjects(ctx)
					assert.Len(t, ps, 1)
					return err
				}, 0},
				{"rsync controller", func() error { _, err := c.EnsureRsyncController(ctx, "rsync", 0); return err }, 0},
				{"rsync default port", func() error {
					ctl, err := c.GetController(ctx, emco.RsyncControllerName)
					if err == nil {
						assert.Equal(t, emco.RsyncDefaultPort, ctl.Spec.Port)
					}
					return err
				}, 0},
				{"cluster provider", func() error {
					_, err := c.EnsureClusterProvider(ctx, emco.ClusterProvider{Metadata: emco.Metadata{Name: provider}})
					return err
				}, 0},
				{"create cluster (multipart)", func() error {
					return c.CreateCluster(ctx, provider, emco.Cluster{Metadata: emco.Metadata{Name: "c1"}}, kubeconfigFor("c1", "v1"))
				}, 0},
				{"duplicate cluster is 409", func() error {
					return c.CreateCluster(ctx, provider, emco.Cluster{Metadata: emco.Metadata{Name: "c1"}}, kubeconfigFor("c1", "v1"))
				}, http.StatusConflict},
				{"cluster under unknown provider is 409", func() error {
					return c.CreateCluster(ctx, "nope", emco.Cluster{Metadata: emco.Metadata{Name: "c1"}}, kubeconfigFor("c1", "v1"))
				}, http.StatusConflict},
				{"get cluster JSON", func() error {
					cl, err := c.GetCluster(ctx, provider, "c1")
					if err == nil {
						assert.Equal(t, "c1", cl.Metadata.Name)
					}
					return err
				}, 0},
				{"get kubeconfig raw", func() error {
					kc, err := c.GetClusterKubeconfig(ctx, provider, "c1")
					assert.Equal(t, kubeconfigFor("c1", "v1"), kc)
					return err
				}, 0},
				{"list clusters", func() error {
					cls, err := c.ListClusters(ctx, provider)
					assert.Len(t, cls, 1)
					return err
				}, 0},
				{"add label", func() error { return c.AddClusterLabel(ctx, provider, "c1", "location-kr-seoul") }, 0},
				{"duplicate label is 409", func() error { return c.AddClusterLabel(ctx, provider, "c1", "location-kr-seoul") }, http.StatusConflict},
				{"invalid label is 400", func() error { return c.AddClusterLabel(ctx, provider, "c1", "bad/label") }, http.StatusBadRequest},
				{"list labels", func() error {
					ls, err := c.ListClusterLabels(ctx, provider, "c1")
					assert.Equal(t, []string{"location-kr-seoul"}, ls)
					return err
				}, 0},
				{"kv-pairs", func() error {
					return c.CreateClusterKvPair(ctx, provider, "c1", emco.ClusterKvPair{Metadata: emco.Metadata{Name: "kv1"},
						Spec: emco.KvPairsSpec{KV: []map[string]any{{"region": "kr"}}}})
				}, 0},
				{"get kv-pairs", func() error {
					kv, err := c.GetClusterKvPair(ctx, provider, "c1", "kv1")
					if err == nil {
						assert.Equal(t, "kr", kv.Spec.KV[0]["region"])
					}
					return err
				}, 0},
				{"logical cloud", func() error {
					return c.CreateLogicalCloud(ctx, project, emco.LogicalCloud{Metadata: emco.Metadata{Name: "lc0"}, Spec: emco.LogicalCloudSpec{Level: emco.LevelAdmin}})
				}, 0},
				{"logical cloud in unknown project is 404", func() error {
					return c.CreateLogicalCloud(ctx, "nope", emco.LogicalCloud{Metadata: emco.Metadata{Name: "lc0"}})
				}, http.StatusNotFound},
				{"no references is an empty list", func() error {
					refs, err := c.ListClusterReferences(ctx, project, "lc0")
					assert.Empty(t, refs)
					return err
				}, 0},
				{"add reference", func() error { return c.CreateClusterReference(ctx, project, "lc0", ref("c1")) }, 0},
				{"referenced cluster cannot be deleted", func() error { return c.DeleteCluster(ctx, provider, "c1") }, http.StatusConflict},
				{"instantiate", func() error { return c.InstantiateLogicalCloud(ctx, project, "lc0") }, 0},
				{"instantiate twice is 409", func() error { return c.InstantiateLogicalCloud(ctx, project, "lc0") }, http.StatusConflict},
				{"status", func() error {
					st, err := c.LogicalCloudStatus(ctx, project, "lc0")
					if err == nil {
						assert.True(t, st.IsInstantiated())
						assert.Equal(t, emco.DeployedInstantiated, st.DeployedStatus)
					}
					return err
				}, 0},
				{"status with readiness (dcm reports it for status=ready only)", func() error {
					st, err := c.LogicalCloudStatusWithReadiness(ctx, project, "lc0")
					if err == nil {
						assert.Equal(t, emco.DeployedInstantiated, st.DeployedStatus)
						assert.Equal(t, "Ready", st.ReadyStatus)
					}
					return err
				}, 0},
				{"deployed clusters", func() error {
					names, err := c.DeployedClusters(ctx, project, "lc0")
					assert.Equal(t, []emco.ClusterName{{Provider: provider, Cluster: "c1"}}, names)
					return err
				}, 0},
				{"update", func() error { return c.UpdateLogicalCloud(ctx, project, "lc0") }, 0},
				{"deleting a missing logical cloud is fine", func() error {
					return c.DeleteLogicalCloud(ctx, project, "nope-not-there")
				}, 0},
				{"terminate", func() error { return c.TerminateLogicalCloud(ctx, project, "lc0") }, 0},
				{"terminate twice is 409", func() error { return c.TerminateLogicalCloud(ctx, project, "lc0") }, http.StatusConflict},
				{"stop after terminate", func() error { return c.StopLogicalCloud(ctx, project, "lc0") }, 0},
				{"delete logical cloud (references first)", func() error { return c.DeleteLogicalCloud(ctx, project, "lc0") }, 0},
				{"delete cluster (labels and kv-pairs first)", func() error { return c.DeleteCluster(ctx, provider, "c1") }, 0},
				{"delete cluster again is fine", func() error { return c.DeleteCluster(ctx, provider, "c1") }, 0},
				{"delete provider", func() error { return c.DeleteClusterProvider(ctx, provider) }, 0},
				{"delete controller", func() error { return c.DeleteController(ctx, emco.RsyncControllerName) }, 0},
				{"delete project", func() error { return c.DeleteProject(ctx, project) }, 0},
			}
			for _, s := range steps {
				err := s.run()
				if s.wantStatus == 0 {
					require.NoError(t, err, s.name)
					continue
				}
				require.Error(t, err, s.name)
				assert.Equal(t, s.wantStatus, emco.StatusCode(err), "%s: %v", s.name, err)
			}
			st := h.emu.State()
			assert.Empty(t, st.Projects)
			assert.Empty(t, st.Clusters)
			assert.Empty(t, st.Providers)
		})
	}
}

func TestClientSendsAcceptAndToken(t *testing.T) {
	var seen http.Header
	srv := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.Header.Clone()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"metadata":{"name":"p"}}`))
	})
	url := startPlain(t, srv)
	c, err := emco.New(emco.Options{Endpoints: emco.SingleEndpoint(url + "/prefix/"), BearerToken: "tok-123"})
	require.NoError(t, err)
	_, err = c.GetProject(context.Background(), "p")
	require.NoError(t, err)
	assert.Equal(t, "application/json", seen.Get("Accept"), "clm answers 406/300 without it")
	assert.Equal(t, "Bearer tok-123", seen.Get("Authorization"))
}

func TestNewRejectsBadOptions(t *testing.T) {
	for name, opts := range map[string]emco.Options{
		"no URL":         {},
		"relative URL":   {Endpoints: emco.SingleEndpoint("emco:9015")},
		"missing dcm":    {Endpoints: emco.Endpoints{Orchestrator: "http://o", CLM: "http://c"}},
		"CA without PEM": {Endpoints: emco.SingleEndpoint("https://emco"), CABundle: []byte("not pem")},
	} {
		_, err := emco.New(opts)
		assert.Error(t, err, name)
	}
}
