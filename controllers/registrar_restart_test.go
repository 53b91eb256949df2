package controllers_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
	"github.com/dcn-ssu/lkaas/controllers"
	"github.com/dcn-ssu/lkaas/internal/emco"
	"github.com/dcn-ssu/lkaas/internal/emco/emcotest"
	"github.com/dcn-ssu/lkaas/internal/scheme"
	"github.com/dcn-ssu/lkaas/internal/testenv"
)

// registrarManager runs only the two registrars against e, so that the test plays the Cluster
// controller (member status) itself and can stop and start the registrars at will.
type registrarManager struct {
	t      *testing.T
	e      *testenv.Env
	cancel context.CancelFunc
	done   chan error
}

func startRegistrars(t *testing.T, e *testenv.Env) *registrarManager {
	t.Helper()
	skip := true
	mgr, err := ctrl.NewManager(e.Config, ctrl.Options{
		Scheme:                 scheme.New(),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Controller:             config.Controller{SkipNameValidation: &skip}, // the suite's manager has them too
	})
	require.NoError(t, err)
	// Short retries: an outage shows as failed passes that controller-runtime backs off.
	clients := &controllers.EMCOClients{APIReader: mgr.GetAPIReader(), Cache: mgr.GetCache(),
		Options: emco.Options{Timeout: 2 * time.Second, Retry: emco.RetryPolicy{MaxAttempts: 2, BaseDelay: 50 * time.Millisecond}}}
	cr := &controllers.ClusterRegistrar{Client: mgr.GetClient(), Cache: mgr.GetCache(), APIReader: mgr.GetAPIReader(),
		Events: mgr.GetEventRecorder("lkaas"), Clients: clients, MaxConcurrentReconciles: 4}
	require.NoError(t, cr.SetupWithManager(mgr))
	lr := &controllers.LogicalCloudRegistrar{Client: mgr.GetClient(), Cache: mgr.GetCache(),
		Events: mgr.GetEventRecorder("lkaas"), Clients: clients, PollInterval: 200 * time.Millisecond}
	require.NoError(t, lr.SetupWithManager(mgr))
	ctx, cancel := context.WithCancel(context.Background())
	m := &registrarManager{t: t, e: e, cancel: cancel, done: make(chan error, 1)}
	go func() { m.done <- mgr.Start(ctx) }()
	return m
}

func (m *registrarManager) stop() {
	m.cancel()
	require.NoError(m.t, <-m.done)
}

// membersAvailable creates the members of a logical cluster as the LogicalCluster and Cluster
// controllers would, Available with a kubeconfig.
func membersAvailable(t *testing.T, c client.Client, ns, lc string, names ...string) {
	t.Helper()
	ctx := context.Background()
	for _, name := range names {
		labels := fleetLabels(ns)
		labels[automationv1alpha1.LogicalClusterLabel] = lc
		labels[automationv1alpha1.ManagedByLabel] = emcoEndpoint
		cl := &automationv1alpha1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
			Spec: automationv1alpha1.ClusterSpec{Tenant: "starlab", ClusterCatalog: "edge"}}
		require.NoError(t, c.Create(ctx, cl))
		// The registrars already run: their first pass may write the cluster's status
		// (waiting for it) between the create and this write, as they would beside the
		// Cluster controller.
		require.NoError(t, retry.RetryOnConflict(retry.DefaultRetry, func() error {
			if err := c.Get(ctx, client.ObjectKeyFromObject(cl), cl); err != nil {
				return err
			}
			cl.Status.Phase = automationv1alpha1.ClusterPhaseReady
			conditions.Set(cl, &metav1.Condition{Type: controllers.AvailableCondition, Status: metav1.ConditionTrue, Reason: "Available"})
			return c.Status().Update(ctx, cl)
		}))
		writeKubeconfig(t, c, ns, name, fakeKubeconfig(name, 1))
	}
}

// The registrars stop half way (EMCO slow) and start again; EMCO then drops every connection
// for a while and comes back. Everything converges: each cluster created in clm once, the
// logical cloud instantiated once, nothing left out.
func TestRegistrarsConvergeAfterRestartAndOutage(t *testing.T) {
	e, err := testenv.Start()
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Stop() })
	ns := "tenant"
	require.NoError(t, e.Client.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	emu, url := emcotest.Start(t)
	emcoFleet(t, e.Client, ns, url)
	lcLabels := fleetLabels(ns)
	require.NoError(t, e.Client.Create(context.Background(), &intentv1.LogicalCluster{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "mec-cluster", Labels: lcLabels},
		Spec: intentv1.LogicalClusterSpec{Tenant: "starlab", Clusters: []intentv1.MemberCluster{
			{Name: "central-cluster", ClusterCatalog: "edge"}, {Name: "seoul-edge-cluster", ClusterCatalog: "edge"},
			{Name: "busan-edge-cluster", ClusterCatalog: "edge"}, {Name: "gwangju-edge-cluster", ClusterCatalog: "edge"},
		}},
	}))

	// EMCO answers slowly; the registrars are stopped once the first cluster is in clm.
	emu.SetLatency(300 * time.Millisecond)
	first := startRegistrars(t, e)
	membersAvailable(t, e.Client, ns, "mec-cluster", "central-cluster", "seoul-edge-cluster", "busan-edge-cluster", "gwangju-edge-cluster")
	waitEMCO(t, emu, "holds a first cluster", func(st emcotest.State) bool { return len(st.Clusters) >= 1 })
	first.stop()
	midway := emu.State()
	t.Logf("stopped with %d of 4 clusters in clm", len(midway.Clusters))
	_, cloudThere := midway.LogicalCloud(ns, "mec-cluster")
	require.False(t, cloudThere, "the restart happens before the logical cloud exists")

	// EMCO drops every connection while the registrars come back.
	emu.ClearFaults()
	emu.AddFault(emcotest.Fault{Drop: true})
	second := startRegistrars(t, e)
	defer second.stop()
	time.Sleep(3 * time.Second)
	var lc intentv1.LogicalCluster
	require.NoError(t, e.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "mec-cluster"}, &lc))
	emu.ClearFaults()

	want := []string{"starlab+busan-edge-cluster", "starlab+central-cluster", "starlab+gwangju-edge-cluster", "starlab+seoul-edge-cluster"}
	st := waitEMCO(t, emu, "converges", func(st emcotest.State) bool {
		cloud, ok := st.LogicalCloud(ns, "mec-cluster")
		return ok && len(st.Clusters) == 4 && slices.Equal(logicalCloudRefs(cloud), want) &&
			cloud.DeployedStatus == "Instantiated" && len(cloud.DeployedClusters) == 4
	})
	cloud, _ := st.LogicalCloud(ns, "mec-cluster")
	assert.Equal(t, 1, countActions(cloud.Actions, "Instantiated"), "instantiated once: %v", cloud.Actions)

	creates := map[string]int{}
	for _, r := range emu.Requests() {
		if r.Method == http.MethodPost && r.Status == http.StatusCreated && strings.HasSuffix(r.Path, "/clusters") {
			creates[r.Path]++
		}
	}
	assert.Equal(t, 1, len(creates), "one provider: %v", creates)
	for path, n := range creates {
		assert.Equal(t, 4, n, "each of the four clusters created once in %s", path)
	}
	for _, c := range st.Clusters {
		assert.Len(t, c.KvPairs, 1, c.Name)
		assert.Contains(t, c.Labels, "logical-cluster-mec-cluster", c.Name)
	}
}

// A LogicalCluster that asks for level 1 gets a standard logical cloud: its namespace and
// user, and the one namespace permission dcm needs to instantiate it.
func TestLogicalCloudRegistrarLevelOne(t *testing.T) {
	e, err := testenv.Start()
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Stop() })
	ns := "tenant"
	require.NoError(t, e.Client.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	emu, url := emcotest.Start(t)
	emcoFleet(t, e.Client, ns, url, func(f *automationv1alpha1.Fleet) { f.Spec.EMCO.Endpoints[0].Project = "dcn" })
	require.NoError(t, e.Client.Create(context.Background(), &intentv1.LogicalCluster{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "mec-cluster", Labels: fleetLabels(ns)},
		Spec: intentv1.LogicalClusterSpec{Tenant: "starlab",
			Clusters:     []intentv1.MemberCluster{{Name: "central-cluster", ClusterCatalog: "edge"}, {Name: "seoul-edge-cluster", ClusterCatalog: "edge"}},
			LogicalCloud: &intentv1.LogicalCloud{Level: "1", Namespace: "starlab-apps", User: "starlab-dev"}},
	}))
	m := startRegistrars(t, e)
	defer m.stop()
	membersAvailable(t, e.Client, ns, "mec-cluster", "central-cluster", "seoul-edge-cluster")

	st := waitEMCO(t, emu, "instantiates a level-1 cloud", func(st emcotest.State) bool {
		cloud, ok := st.LogicalCloud("dcn", "mec-cluster")
		return ok && len(cloud.References) == 2 && cloud.DeployedStatus == "Instantiated"
	})
	cloud, _ := st.LogicalCloud("dcn", "mec-cluster")
	assert.Equal(t, "1", cloud.Level)
	assert.Equal(t, "starlab-apps", cloud.Namespace)
	assert.Equal(t, "starlab-dev", cloud.UserName)
	assert.Equal(t, []string{"namespace-admin"}, cloud.Permissions)
	assert.Eventually(t, func() bool {
		var lc intentv1.LogicalCluster
		if err := e.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "mec-cluster"}, &lc); err != nil {
			return false
		}
		return lc.Status.EMCO != nil && lc.Status.EMCO.Level == "1" && lc.Status.EMCO.DeployedStatus == "Instantiated"
	}, defaultWait, tick)
}
