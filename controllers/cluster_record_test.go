package controllers_test

import (
	"context"
	"errors"
	"testing"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/controllers"
	"github.com/dcn-ssu/lkaas/internal/scheme"
	"github.com/dcn-ssu/lkaas/internal/testenv"
)

// The record of applied objects is written ahead of the objects, with the finalizer: a pass
// cut short after some objects were written (here every MachineDeployment apply fails) has
// already recorded them, so deleting the cluster deletes them, though no pass ever finished
// applying. (The API server runs no garbage collector: owner references alone would leave
// them.)
func TestClusterRecordsObjectsBeforeWritingThem(t *testing.T) {
	own := useOwnAPIServer(t)
	startClusterControllerRefusing(t, own, "MachineDeployment")

	ctx := context.Background()
	ns := clusterFixture(t)
	c := newCluster(t, ns, "cut-short")
	c = waitCluster(t, c, "refused", func(c *automationv1alpha1.Cluster) bool {
		return conditions.GetReason(c, meta.ReadyCondition) == controllers.ReasonApplyFailed
	})
	assert.True(t, controllerutil.ContainsFinalizer(c, controllers.ClusterFinalizer))
	assert.Contains(t, c.GetAnnotations()[controllers.AppliedObjectsAnnotation], `"MachineDeployment"`,
		"the record names the object the pass could not write")
	require.Len(t, listCAPI(t, ns, kcpV1, "KubeadmControlPlane"), 1, "the pass wrote objects before the refused one")

	require.NoError(t, env.Client.Delete(ctx, c))
	assert.Eventually(t, func() bool {
		err := env.Client.Get(ctx, clientKey(c), &automationv1alpha1.Cluster{})
		return apierrors.IsNotFound(err)
	}, defaultWait, tick, "the finalizer goes")
	assert.Empty(t, listCAPI(t, ns, kcpV1, "KubeadmControlPlane"), "what the cut-short pass wrote is deleted")
	assert.Empty(t, listCAPI(t, ns, "infrastructure.cluster.x-k8s.io/v1beta2", "DevMachineTemplate"))
}

// startClusterControllerRefusing runs the Cluster controller alone against e, with a client
// whose server-side applies of kind fail, as a refusing admission webhook would make them.
func startClusterControllerRefusing(t *testing.T, e *testenv.Env, kind string) {
	t.Helper()
	skip := true
	mgr, err := ctrl.NewManager(e.Config, ctrl.Options{
		Scheme: scheme.New(), Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
		Controller: config.Controller{SkipNameValidation: &skip},
	})
	require.NoError(t, err)
	refusing := refusingClient{Client: mgr.GetClient(), kind: kind}
	r := &controllers.ClusterReconciler{Client: refusing, Cache: mgr.GetCache(), APIReader: mgr.GetAPIReader(),
		Events: mgr.GetEventRecorder("lkaas"), Settings: controllers.ClusterSettings{DefaultSharedProfileNamespaces: []string{"default"}}}
	require.NoError(t, r.SetupWithManager(context.Background(), mgr))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

// refusingClient fails every server-side apply of one kind.
type refusingClient struct {
	client.Client
	kind string
}

func (c refusingClient) Apply(ctx context.Context, obj runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
	if u, ok := obj.(interface{ GetKind() string }); ok && u.GetKind() == c.kind {
		return errors.New("admission webhook denied the request (test)")
	}
	return c.Client.Apply(ctx, obj, opts...)
}
