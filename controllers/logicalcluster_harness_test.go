package controllers_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/dcn-ssu/lkaas/controllers"
	"github.com/dcn-ssu/lkaas/internal/scheme"
	"github.com/dcn-ssu/lkaas/internal/testenv"
)

// startRolloutEnv starts an API server of its own with a manager that runs only the
// LogicalCluster controller. The suite's manager also runs the Cluster controller, which
// would write the member Clusters' status; here the simulated status driver alone plays that
// part, so a test decides exactly when a member is rendered, upgrading, Ready or Failed.
func startRolloutEnv(t testing.TB) *testenv.Env {
	t.Helper()
	e, err := testenv.Start()
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Stop() })

	skip := true
	mgr, err := ctrl.NewManager(e.Config, ctrl.Options{
		Scheme:                 scheme.New(),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		// The suite's manager registered a "logicalcluster" controller in this process too.
		Controller: config.Controller{SkipNameValidation: &skip},
	})
	require.NoError(t, err)
	r := &controllers.LogicalClusterReconciler{Client: mgr.GetClient(), Cache: mgr.GetCache(), Events: mgr.GetEventRecorder("lkaas")}
	require.NoError(t, r.SetupWithManager(mgr))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() { cancel(); <-done }) // runs before Stop: cleanups run last-in first-out
	return e
}
