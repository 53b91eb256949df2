package manager_test

import (
	"context"
	"testing"
	"time"

	"github.com/fluxcd/pkg/runtime/logger"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/dcn-ssu/lkaas/controllers"
	"github.com/dcn-ssu/lkaas/internal/manager"
	"github.com/dcn-ssu/lkaas/internal/plane"
	"github.com/dcn-ssu/lkaas/internal/testenv"
)

// startCAPIManager builds a manager on env that polls for Cluster API kinds every 100 ms, and
// starts it; done receives what Start returns. stop (called at the latest when the test
// ends) cancels its context.
func startCAPIManager(t *testing.T, env *testenv.Env) (done <-chan error, stop func()) {
	t.Helper()
	t.Cleanup(manager.SetCAPICheckPeriod(100 * time.Millisecond))
	opts := manager.Options{MetricsAddr: "0", HealthAddr: "0", SkipNameValidation: true}
	opts.Logger = logger.Options{LogEncoding: "console", LogLevel: "error"}
	mgr, err := manager.New(env.Config, opts)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan error, 1)
	go func() { ch <- mgr.Start(ctx) }()
	t.Cleanup(cancel)
	return ch, cancel
}

// L-KaaS installed before Cluster API (`helm install`, then `clusterctl init`): the manager
// runs without the CAPI watches, and stops with an error naming the kind once the API server
// serves it, so that the Deployment restarts it with the watches in place.
func TestManagerRestartsWhenClusterAPIIsInstalled(t *testing.T) {
	bare, err := testenv.Start(plane.WithFluxSourceCRDs())
	require.NoError(t, err)
	t.Cleanup(func() { _ = bare.Stop() })

	missing, err := manager.UnservedClusterAPIKinds(bare.Config)
	require.NoError(t, err)
	assert.ElementsMatch(t, controllers.WatchedClusterAPIKinds(), missing)

	done, _ := startCAPIManager(t, bare)
	assert.Never(t, func() bool { return len(done) > 0 }, 2*time.Second, 100*time.Millisecond,
		"the manager stopped while Cluster API was still absent")

	dirs, err := plane.ClusterAPICRDDirs()
	require.NoError(t, err)
	_, err = envtest.InstallCRDs(bare.Config, envtest.CRDInstallOptions{Paths: dirs, ErrorIfPathMissing: true})
	require.NoError(t, err)

	select {
	case err := <-done:
		require.Error(t, err)
		assert.Regexp(t, `restarting to watch newly served Cluster API kinds: .*(Cluster|MachineDeployment|ClusterResourceSetBinding|KubeadmControlPlane)\.`, err.Error())
	case <-time.After(30 * time.Second):
		t.Fatal("the manager did not stop after the Cluster API CRDs were installed")
	}
}

// With Cluster API already served, the manager keeps running: only the kinds of providers
// still absent (here the Helm add-on provider) are polled for, and none appears.
func TestManagerWithClusterAPIKeepsRunning(t *testing.T) {
	missing, err := manager.UnservedClusterAPIKinds(env.Config)
	require.NoError(t, err)
	require.Len(t, missing, 1, "CAPI core and kubeadm kinds are served")
	assert.Equal(t, "HelmReleaseProxy", missing[0].Kind)

	done, stop := startCAPIManager(t, env)
	assert.Never(t, func() bool { return len(done) > 0 }, 3*time.Second, 100*time.Millisecond,
		"the manager stopped on its own")
	stop()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(time.Minute):
		t.Fatal("the manager did not stop")
	}
}
