package controllers_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
)

// A pass reads what runs twice: before it writes (the version gate) and after (the status).
// When the cache moves on in between (here the control plane reports the step done), the
// status must not run ahead of the writes: CI once read "workers rolling to v1.35.3" beside
// a MachineDeployment still asking for v1.34.1. The next pass moves the workers.
func TestClusterStatusSaysOnlyWhatThePassWrote(t *testing.T) {
	own := useOwnAPIServer(t)

	lag := &laggingControlPlane{name: "lag-control-plane"}
	startClusterController(t, own, func(c client.Reader) client.Reader { lag.Reader = c; return lag })
	ns := clusterFixture(t)
	c := newCluster(t, ns, "lag")
	waitCluster(t, c, "applied", func(c *automationv1alpha1.Cluster) bool { return c.Status.AppliedRenderHash != "" })
	md := listCAPI(t, ns, capiV1, "MachineDeployment")[0].GetName()
	setCAPIConditions(t, ns, "lag", map[string]metav1.ConditionStatus{
		"InfrastructureReady": metav1.ConditionTrue, "ControlPlaneInitialized": metav1.ConditionTrue,
		"ControlPlaneAvailable": metav1.ConditionTrue, "WorkersAvailable": metav1.ConditionTrue, "Available": metav1.ConditionTrue})
	setStatusField(t, ns, capiV1, "MachineDeployment", md, []any{map[string]any{"version": "v1.34.1", "replicas": int64(2)}}, "versions")
	// Each report is one write, so one watch event and one pass follow it.
	report := func(version string, upToDate int64) {
		setStatusField(t, ns, kcpV1, "KubeadmControlPlane", lag.name,
			map[string]any{"replicas": int64(1), "upToDateReplicas": upToDate, "version": version})
	}
	report("v1.34.1", 1)
	waitCluster(t, c, "Ready", inPhase(automationv1alpha1.ClusterPhaseReady))

	setProfileValues(t, ns, `{"kubernetesVersion":"v1.35.3","controlPlaneMachineCount":1,"workerMachineCount":2}`)
	waitCluster(t, c, "on the control plane's step", func(c *automationv1alpha1.Cluster) bool {
		return strings.Contains(clusterReadyMessage(c), "control plane 1/1 at v1.35.3; workers wait")
	})
	report("v1.34.1", 0)
	waitCluster(t, c, "rolling the control plane", func(c *automationv1alpha1.Cluster) bool {
		return strings.Contains(clusterReadyMessage(c), "control plane 0/1 at v1.35.3; workers wait")
	})

	// The control plane reaches the step; the pass's first read of it still sees the old
	// report, its status read the new one.
	kcp, err := capiObject(t, ns, kcpV1, "KubeadmControlPlane", lag.name)
	require.NoError(t, err)
	lag.arm(kcp, "v1.35.3")
	report("v1.35.3", 1)
	c = waitCluster(t, c, "the pass that read both", func(c *automationv1alpha1.Cluster) bool {
		return lag.served.Load() && c.Status.ControlPlaneVersion == "v1.35.3"
	})
	_, workers := versionsAsked(t, ns, "lag")
	if strings.Contains(clusterReadyMessage(c), "workers rolling") {
		assert.Equal(t, "v1.35.3", workers, "the status says the workers roll, so they must have been asked to: %s", clusterReadyMessage(c))
	}

	// The next pass (any event; here a reconcile request) moves the workers, and says so.
	require.NoError(t, env.Client.Get(context.Background(), clientKey(c), c))
	c.SetAnnotations(map[string]string{meta.ReconcileRequestAnnotation: "now"})
	require.NoError(t, env.Client.Update(context.Background(), c))
	waitCluster(t, c, "workers rolling", func(c *automationv1alpha1.Cluster) bool {
		return strings.Contains(clusterReadyMessage(c), "workers rolling to v1.35.3 (now v1.34.1)")
	})
	_, workers = versionsAsked(t, ns, "lag")
	assert.Equal(t, "v1.35.3", workers)
}

func clusterReadyMessage(c *automationv1alpha1.Cluster) string {
	_, msg := clusterReady(c)
	return msg
}

// laggingControlPlane is the controller's cache, except that once armed, the first read of
// the control plane that would show status.version newVersion shows the armed (older) copy
// instead: an informer that delivers an update in the middle of a pass.
type laggingControlPlane struct {
	client.Reader
	name       string
	stale      atomic.Pointer[unstructured.Unstructured]
	newVersion atomic.Value
	served     atomic.Bool
}

func (l *laggingControlPlane) arm(stale *unstructured.Unstructured, newVersion string) {
	l.newVersion.Store(newVersion)
	l.stale.Store(stale)
}

func (l *laggingControlPlane) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if err := l.Reader.Get(ctx, key, obj, opts...); err != nil {
		return err
	}
	u, ok := obj.(*unstructured.Unstructured)
	if !ok || key.Name != l.name || u.GetKind() != "KubeadmControlPlane" {
		return nil
	}
	stale := l.stale.Load()
	if v, _, _ := unstructured.NestedString(u.Object, "status", "version"); stale == nil || v != l.newVersion.Load() {
		return nil
	}
	if l.stale.CompareAndSwap(stale, nil) {
		stale.DeepCopyInto(u)
		l.served.Store(true)
	}
	return nil
}
