package controllers_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/controllers"
	"github.com/dcn-ssu/lkaas/internal/plane"
	"github.com/dcn-ssu/lkaas/internal/scheme"
	"github.com/dcn-ssu/lkaas/internal/testenv"
)

// useOwnAPIServer starts an API server for one test, with the CRDs the Cluster controller
// needs, and points the package's env (which the helpers read) at it until the test ends:
// for tests that run their own controller, away from the suite's manager.
func useOwnAPIServer(t *testing.T) *testenv.Env {
	t.Helper()
	own, err := testenv.Start(plane.WithClusterAPICRDs(), plane.WithCAPDCRDs(), plane.WithHelmAddonCRDs())
	require.NoError(t, err)
	t.Cleanup(func() { _ = own.Stop() })
	suiteEnv := env
	env = own // no test of this package runs in parallel
	t.Cleanup(func() { env = suiteEnv })
	return own
}

// startClusterController runs a manager with the Cluster controller alone against e; the
// returned stop ends it and waits, as a controller restart would. wrap, when given, stands
// between the controller and its cache.
func startClusterController(t *testing.T, e *testenv.Env, wrap ...func(client.Reader) client.Reader) (stop func()) {
	t.Helper()
	skip := true
	mgr, err := ctrl.NewManager(e.Config, ctrl.Options{
		Scheme: scheme.New(), Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
		// The suite's manager registered a "cluster" controller in this process too.
		Controller: config.Controller{SkipNameValidation: &skip},
	})
	require.NoError(t, err)
	var cache client.Reader = mgr.GetCache()
	for _, w := range wrap {
		cache = w(cache)
	}
	r := &controllers.ClusterReconciler{Client: mgr.GetClient(), Cache: cache, APIReader: mgr.GetAPIReader(),
		Events: mgr.GetEventRecorder("lkaas"), Settings: controllers.ClusterSettings{DefaultSharedProfileNamespaces: []string{"default"}}}
	require.NoError(t, r.SetupWithManager(context.Background(), mgr))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cancel()
			require.NoError(t, <-done)
		}
	}
	t.Cleanup(stop)
	return stop
}

// A controller restart in the middle of a chain's first step resumes that step: the new
// process writes nothing until the control plane reports the step, then moves the workers.
func TestClusterUpgradeStepResumesAfterARestart(t *testing.T) {
	own := useOwnAPIServer(t)

	stop := startClusterController(t, own)
	ns := clusterFixture(t)
	c := newCluster(t, ns, "restart")
	waitCluster(t, c, "applied", func(c *automationv1alpha1.Cluster) bool { return c.Status.AppliedRenderHash != "" })
	md := listCAPI(t, ns, capiV1, "MachineDeployment")[0].GetName()
	report := func(controlPlane string, upToDate int64, workers string) {
		setStatusField(t, ns, kcpV1, "KubeadmControlPlane", "restart-control-plane", int64(1), "replicas")
		setStatusField(t, ns, kcpV1, "KubeadmControlPlane", "restart-control-plane", upToDate, "upToDateReplicas")
		setStatusField(t, ns, kcpV1, "KubeadmControlPlane", "restart-control-plane", controlPlane, "version")
		setStatusField(t, ns, capiV1, "MachineDeployment", md, []any{map[string]any{"version": workers, "replicas": int64(2)}}, "versions")
	}
	setCAPIConditions(t, ns, "restart", map[string]metav1.ConditionStatus{
		"InfrastructureReady": metav1.ConditionTrue, "ControlPlaneInitialized": metav1.ConditionTrue,
		"ControlPlaneAvailable": metav1.ConditionTrue, "WorkersAvailable": metav1.ConditionTrue, "Available": metav1.ConditionTrue})
	report("v1.34.1", 1, "v1.34.1")
	waitCluster(t, c, "Ready", inPhase(automationv1alpha1.ClusterPhaseReady))

	setProfileValues(t, ns, `{"kubernetesVersion":"v1.36.0","kubernetesVersions":["v1.35.3"],"controlPlaneMachineCount":1,"workerMachineCount":2}`)
	waitCluster(t, c, "on the first step", func(c *automationv1alpha1.Cluster) bool {
		cp, _ := versionsAsked(t, ns, "restart")
		return cp == "v1.35.3"
	})

	// The controller goes away mid-step; CAPI goes on (the machine is not at the step yet).
	stop()
	report("v1.34.1", 0, "v1.34.1")
	kcp, err := capiObject(t, ns, kcpV1, "KubeadmControlPlane", "restart-control-plane")
	require.NoError(t, err)
	mdBefore := listCAPI(t, ns, capiV1, "MachineDeployment")[0]

	startClusterController(t, own)
	waitCluster(t, c, "the new process on the same step", func(c *automationv1alpha1.Cluster) bool {
		_, msg := clusterReady(c)
		return msg == "upgrading to v1.36.0: control plane 0/1 at v1.35.3; workers wait for the control plane"
	})
	kcpAfter, err := capiObject(t, ns, kcpV1, "KubeadmControlPlane", "restart-control-plane")
	require.NoError(t, err)
	assert.Equal(t, kcp.GetResourceVersion(), kcpAfter.GetResourceVersion(), "the control plane is not written again")
	assert.Equal(t, mdBefore.GetResourceVersion(), listCAPI(t, ns, capiV1, "MachineDeployment")[0].GetResourceVersion(), "nor the workers")

	// The step completes; the new process moves the workers, then the next step.
	report("v1.35.3", 1, "v1.34.1")
	waitCluster(t, c, "workers on the step", func(c *automationv1alpha1.Cluster) bool {
		_, w := versionsAsked(t, ns, "restart")
		return w == "v1.35.3"
	})
	cp, _ := versionsAsked(t, ns, "restart")
	assert.Equal(t, "v1.35.3", cp)
	report("v1.35.3", 1, "v1.35.3")
	waitCluster(t, c, "on the last step", func(c *automationv1alpha1.Cluster) bool {
		cp, _ := versionsAsked(t, ns, "restart")
		return cp == "v1.36.0"
	})
}
