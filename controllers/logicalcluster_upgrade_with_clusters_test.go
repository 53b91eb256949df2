package controllers_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
)

// capiDriver plays Cluster API for the control planes of a namespace: a moment after a
// KubeadmControlPlane's spec.version changes, its status.version follows, as a finished
// rolling upgrade would. It records the order in which control planes started upgrading and
// how many were upgrading at once.
type capiDriver struct {
	ns    string
	delay time.Duration

	mu          sync.Mutex
	since       map[string]time.Time
	order       []string
	maxInFlight int
}

func (d *capiDriver) run(ctx context.Context) {
	for ctx.Err() == nil {
		var kcps unstructured.UnstructuredList
		kcps.SetAPIVersion("controlplane.cluster.x-k8s.io/v1beta2")
		kcps.SetKind("KubeadmControlPlaneList")
		if err := env.Client.List(ctx, &kcps, client.InNamespace(d.ns)); err == nil {
			d.step(ctx, kcps.Items)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (d *capiDriver) step(ctx context.Context, kcps []unstructured.Unstructured) {
	d.mu.Lock()
	defer d.mu.Unlock()
	inFlight := 0
	for i := range kcps {
		kcp := &kcps[i]
		member := strings.TrimSuffix(kcp.GetName(), "-control-plane")
		want, _, _ := unstructured.NestedString(kcp.Object, "spec", "version")
		have, _, _ := unstructured.NestedString(kcp.Object, "status", "version")
		if have == "" || have == want {
			delete(d.since, member)
			continue
		}
		inFlight++
		started, ok := d.since[member]
		if !ok {
			d.since[member] = time.Now()
			d.order = append(d.order, member)
			continue
		}
		if time.Since(started) >= d.delay {
			_ = unstructured.SetNestedField(kcp.Object, want, "status", "version")
			_ = env.Client.Status().Update(ctx, kcp)
		}
	}
	d.maxInFlight = max(d.maxInFlight, inFlight)
}

// The seed's example, with the real Cluster controller rendering and applying every member:
// a version bump in the catalog of a logical cluster reaches the members' control planes one
// at a time (maxUnavailable 1), the core first, each wave after the previous one is done.
func TestLogicalClusterUpgradeRollsThroughRealClusterRenders(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ns, catalog, members := mecClusterOfRealClusters(t)

	driver := &capiDriver{ns: ns, delay: 500 * time.Millisecond, since: map[string]time.Time{}}
	go driver.run(ctx)

	// The change under review: the catalog moves every member to v1.35.0.
	require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(catalog), catalog))
	catalog.Spec.Infrastructure.Override = &apiextensionsv1.JSON{Raw: []byte(`{"kubernetesVersion":"v1.35.0"}`)}
	require.NoError(t, env.Client.Update(ctx, catalog))

	waitMecCluster(t, ns, "upgraded and Ready", func(lc *intentv1.LogicalCluster) bool {
		if lc.Status.Phase != automationv1alpha1.ClusterPhaseReady || lc.Status.ReadyMembers != 3 {
			return false
		}
		for _, m := range lc.Status.Members {
			if m.KubernetesVersion != "v1.35.0" {
				return false
			}
		}
		return true
	})
	cancel()

	driver.mu.Lock()
	defer driver.mu.Unlock()
	assert.Equal(t, 1, driver.maxInFlight, "never two control planes upgrading at once")
	require.Len(t, driver.order, 3, "every member's control plane was upgraded")
	assert.Equal(t, "central-cluster", driver.order[0], "the core (wave 0) goes first")
	assert.ElementsMatch(t, members[1:], driver.order[1:])
}

func waitMecCluster(t *testing.T, ns, what string, ok func(*intentv1.LogicalCluster) bool) {
	t.Helper()
	var got intentv1.LogicalCluster
	if !assert.Eventually(t, func() bool {
		if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "mec-cluster"}, &got); err != nil {
			return false
		}
		return ok(&got)
	}, 2*time.Minute, 100*time.Millisecond) {
		t.Fatalf("logical cluster never %s; status: %+v", what, got.Status)
	}
}

// mecClusterOfRealClusters creates the seed's example with three members of one catalog,
// rendered and applied by the real Cluster controller, and has CAPI report each one up and
// Available at v1.34.1.
func mecClusterOfRealClusters(t *testing.T) (string, *automationv1alpha1.ClusterCatalog, []string) {
	t.Helper()
	ctx := context.Background()
	ns := clusterFixture(t)
	catalog := &automationv1alpha1.ClusterCatalog{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "edge"},
		Spec: automationv1alpha1.ClusterCatalogSpec{ClusterRecipe: automationv1alpha1.ClusterRecipe{
			Infrastructure: &automationv1alpha1.InfrastructureRecipe{Provider: "docker",
				Profile: automationv1alpha1.ProfileReference{Name: "inmemory", Type: automationv1alpha1.InfrastructureProfileType, Revision: "1.0.0"}},
			Network: &automationv1alpha1.AddonRecipe{Name: "calico",
				Profile: automationv1alpha1.ProfileReference{Name: "calico", Type: automationv1alpha1.NetworkProfileType, Revision: "1.0.0"}},
		}},
	}
	require.NoError(t, env.Client.Create(ctx, catalog))
	one := intstr.FromInt32(1)
	members := []string{"central-cluster", "seoul-edge-cluster", "busan-edge-cluster"}
	lc := &intentv1.LogicalCluster{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "mec-cluster"},
		Spec: intentv1.LogicalClusterSpec{
			Clusters: []intentv1.MemberCluster{
				{Name: members[0], ClusterCatalog: "edge", Wave: 0},
				{Name: members[1], ClusterCatalog: "edge", Wave: 1},
				{Name: members[2], ClusterCatalog: "edge", Wave: 1},
			},
			Rollout: &intentv1.Rollout{MaxUnavailable: &one},
		},
	}
	require.NoError(t, env.Client.Create(ctx, lc))

	// The members render and apply without a permit (a first render needs none); CAPI then
	// reports each cluster up and Available at v1.34.1.
	for _, m := range members {
		setCAPIConditions(t, ns, m, map[string]metav1.ConditionStatus{
			"InfrastructureReady": metav1.ConditionTrue, "ControlPlaneInitialized": metav1.ConditionTrue,
			"ControlPlaneAvailable": metav1.ConditionTrue, "WorkersAvailable": metav1.ConditionTrue, "Available": metav1.ConditionTrue,
		})
		setStatusField(t, ns, "controlplane.cluster.x-k8s.io/v1beta2", "KubeadmControlPlane", m+"-control-plane", "v1.34.1", "version")
	}
	waitMecCluster(t, ns, "all members Ready", func(lc *intentv1.LogicalCluster) bool {
		return lc.Status.Phase == automationv1alpha1.ClusterPhaseReady && lc.Status.ReadyMembers == 3
	})
	return ns, catalog, members
}

// A downgrade in the members' catalog: the centre (wave 0) refuses it and writes nothing,
// the rollout halts on it naming the rule, and the edges (wave 1) are never started.
func TestLogicalClusterHaltsOnAMemberThatRefusesADowngrade(t *testing.T) {
	ctx := context.Background()
	ns, catalog, members := mecClusterOfRealClusters(t)
	before := map[string]string{}
	for _, m := range members {
		cp, w := versionsAsked(t, ns, m)
		before[m] = cp + "/" + w
	}

	require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(catalog), catalog))
	catalog.Spec.Infrastructure.Override = &apiextensionsv1.JSON{Raw: []byte(`{"kubernetesVersion":"v1.33.9"}`)}
	require.NoError(t, env.Client.Update(ctx, catalog))

	var halted string
	waitMecCluster(t, ns, "halted on the centre", func(lc *intentv1.LogicalCluster) bool {
		for _, c := range lc.Status.Conditions {
			if c.Type == "RolloutHalted" && c.Status == metav1.ConditionTrue {
				halted = c.Message
				return true
			}
		}
		return false
	})
	assert.Contains(t, halted, "member central-cluster failed: kubernetesVersion v1.33.9 is older than v1.34.1, which the control plane runs")
	assert.Contains(t, halted, "(rule no-downgrade)")
	for _, m := range members {
		cp, w := versionsAsked(t, ns, m)
		assert.Equal(t, before[m], cp+"/"+w, "%s: nothing written", m)
	}
	for _, m := range members[1:] {
		var c automationv1alpha1.Cluster
		require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: m}, &c))
		assert.NotEqual(t, c.Status.RenderHash, c.GetAnnotations()[automationv1alpha1.RolloutPermitAnnotation], "%s never got a permit for the downgrade", m)
	}
}
