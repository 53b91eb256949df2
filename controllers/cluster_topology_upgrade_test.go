package controllers_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
)

// Issue 15: a ClusterClass cluster keeps CAPI's own chained upgrade, and says what it waits
// for in the same words as a template-mode cluster, from what CAPI's topology reports (the
// step written to the KubeadmControlPlane, its machines, the Cluster's upgrade plan, and the
// TopologyReconciled condition when something holds it). The test plays CAPI's part.
func TestTopologyClusterSaysWhatCAPIsChainWaitsFor(t *testing.T) {
	ns := env.Namespace(t)
	ctx := context.Background()
	profile := &automationv1alpha1.InfrastructureProfile{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "class-infrastructure-1-0-0"},
		Spec: automationv1alpha1.InfrastructureProfileSpec{ProfileName: "class", Type: automationv1alpha1.InfrastructureProfileType, Revision: "1.0.0",
			ClusterClass: &automationv1alpha1.ClusterClassReference{Name: "in-memory"},
			Values:       &apiextensionsv1.JSON{Raw: []byte(`{"kubernetesVersion":"v1.34.1","controlPlaneMachineCount":1,"workerMachineCount":2}`)}},
	}
	require.NoError(t, env.Client.Create(ctx, profile))
	c := newCluster(t, ns, "topo", func(c *automationv1alpha1.Cluster) {
		c.Spec.Infrastructure.Profile.Name = "class"
		c.Spec.Network = nil
	})
	waitCluster(t, c, "applied", func(c *automationv1alpha1.Cluster) bool { return c.Status.AppliedRenderHash != "" })
	capi, err := capiObject(t, ns, capiV1, "Cluster", "topo")
	require.NoError(t, err)
	topologyVersion, _, _ := unstructured.NestedString(capi.Object, "spec", "topology", "version")
	require.Equal(t, "v1.34.1", topologyVersion, "a ClusterClass cluster")

	// What CAPI's topology controller creates for the class: a control plane and a pool.
	labels := map[string]any{"cluster.x-k8s.io/cluster-name": "topo"}
	kcp := unstructuredOf(map[string]any{"apiVersion": kcpV1, "kind": "KubeadmControlPlane",
		"metadata": map[string]any{"namespace": ns, "name": "topo-cp", "labels": labels},
		"spec": map[string]any{"version": "v1.34.1", "replicas": int64(1), "machineTemplate": map[string]any{"spec": map[string]any{
			"infrastructureRef": map[string]any{"apiGroup": "infrastructure.cluster.x-k8s.io", "kind": "DevMachineTemplate", "name": "topo-cp"}}}}})
	require.NoError(t, env.Client.Create(ctx, kcp))
	md := unstructuredOf(map[string]any{"apiVersion": capiV1, "kind": "MachineDeployment",
		"metadata": map[string]any{"namespace": ns, "name": "topo-md-0", "labels": labels},
		"spec": map[string]any{"clusterName": "topo", "replicas": int64(2),
			"selector": map[string]any{"matchLabels": labels},
			"template": map[string]any{"metadata": map[string]any{"labels": labels}, "spec": map[string]any{"clusterName": "topo", "version": "v1.34.1",
				"bootstrap":         map[string]any{"configRef": map[string]any{"apiGroup": "bootstrap.cluster.x-k8s.io", "kind": "KubeadmConfigTemplate", "name": "topo-md-0"}},
				"infrastructureRef": map[string]any{"apiGroup": "infrastructure.cluster.x-k8s.io", "kind": "DevMachineTemplate", "name": "topo-md-0"}}}}})
	require.NoError(t, env.Client.Create(ctx, md))
	ref := `{"spec":{"controlPlaneRef":{"apiGroup":"controlplane.cluster.x-k8s.io","kind":"KubeadmControlPlane","name":"topo-cp"}}}`
	require.NoError(t, env.Client.Patch(ctx, capi, client.RawPatch("application/merge-patch+json", []byte(ref)), client.FieldOwner("capi-topology")))

	// CAPI's topology: the step it has written, the machines at it, what its plan has left.
	capiReports := func(step, cpAt string, upToDate int64, workersStep, workersAt string, cpPlan ...string) {
		t.Helper()
		setField(t, ns, kcpV1, "KubeadmControlPlane", "topo-cp", step, "spec", "version")
		setField(t, ns, capiV1, "MachineDeployment", "topo-md-0", workersStep, "spec", "template", "spec", "version")
		setStatusField(t, ns, kcpV1, "KubeadmControlPlane", "topo-cp", int64(1), "replicas")
		setStatusField(t, ns, kcpV1, "KubeadmControlPlane", "topo-cp", upToDate, "upToDateReplicas")
		setStatusField(t, ns, kcpV1, "KubeadmControlPlane", "topo-cp", cpAt, "version")
		setStatusField(t, ns, capiV1, "MachineDeployment", "topo-md-0", []any{map[string]any{"version": workersAt, "replicas": int64(2)}}, "versions")
		plan := []any{}
		for _, v := range cpPlan {
			plan = append(plan, map[string]any{"version": v})
		}
		if len(plan) == 0 {
			plan = nil
		}
		setStatusField(t, ns, capiV1, "Cluster", "topo", plan, "controlPlane", "upgradePlan")
	}
	all := map[string]metav1.ConditionStatus{"InfrastructureReady": metav1.ConditionTrue, "ControlPlaneInitialized": metav1.ConditionTrue,
		"ControlPlaneAvailable": metav1.ConditionTrue, "WorkersAvailable": metav1.ConditionTrue, "Available": metav1.ConditionTrue}
	setCAPIConditions(t, ns, "topo", all)
	capiReports("v1.34.1", "v1.34.1", 1, "v1.34.1", "v1.34.1")
	waitCluster(t, c, "Ready", inPhase(automationv1alpha1.ClusterPhaseReady))

	// Git jumps two minors: L-KaaS writes only the topology's version, CAPI steps.
	setProfileValues(t, ns, `{"kubernetesVersion":"v1.36.0","controlPlaneMachineCount":1,"workerMachineCount":2}`)
	waitCAPI := func(what string, ok func(*unstructured.Unstructured) bool) {
		t.Helper()
		require.Eventually(t, func() bool {
			u, err := capiObject(t, ns, capiV1, "Cluster", "topo")
			return err == nil && ok(u)
		}, defaultWait, tick, what)
	}
	waitCAPI("topology.version v1.36.0", func(u *unstructured.Unstructured) bool {
		v, _, _ := unstructured.NestedString(u.Object, "spec", "topology", "version")
		return v == "v1.36.0"
	})
	says := func(want string) {
		t.Helper()
		got := waitCluster(t, c, "saying "+want, func(c *automationv1alpha1.Cluster) bool {
			_, msg := clusterReady(c)
			return msg == "upgrading to v1.36.0: "+want
		})
		assert.Equal(t, automationv1alpha1.ClusterPhaseUpgrading, got.Status.Phase)
	}

	capiReports("v1.35.3", "v1.34.1", 0, "v1.34.1", "v1.34.1", "v1.36.0")
	says("control plane 0/1 at v1.35.3; workers wait for the control plane; then v1.36.0 (Cluster API's chain)")
	capiReports("v1.35.3", "v1.35.3", 1, "v1.34.1", "v1.34.1", "v1.36.0")
	says("control plane at v1.35.3; workers pending upgrade to v1.35.3 (now v1.34.1); then v1.36.0 (Cluster API's chain)")
	capiReports("v1.35.3", "v1.35.3", 1, "v1.35.3", "v1.34.1", "v1.36.0")
	says("control plane at v1.35.3; workers rolling to v1.35.3 (now v1.34.1); then v1.36.0 (Cluster API's chain)")

	// A lifecycle hook holds the next step: CAPI's reason and detail are in the message.
	setTopologyReconciled(t, ns, "topo", "LifecycleHookBlocking",
		"Cluster is upgrading to v1.36.0\n  * hook BeforeControlPlaneUpgrade is blocking upgrade\n  * KubeadmControlPlane pending upgrade to version v1.36.0")
	capiReports("v1.35.3", "v1.35.3", 1, "v1.35.3", "v1.35.3", "v1.36.0")
	says("control plane and workers at v1.35.3; then v1.36.0 (Cluster API's chain); held by Cluster API: LifecycleHookBlocking: hook BeforeControlPlaneUpgrade is blocking upgrade")

	setTopologyReconciled(t, ns, "topo", "ClusterUpgrading", "Cluster is upgrading to v1.36.0")
	capiReports("v1.36.0", "v1.35.3", 0, "v1.35.3", "v1.35.3")
	says("control plane 0/1 at v1.36.0; workers wait for the control plane")
	capiReports("v1.36.0", "v1.36.0", 1, "v1.36.0", "v1.35.3")
	says("control plane at v1.36.0; workers rolling to v1.36.0 (now v1.35.3)")

	setTopologyReconciled(t, ns, "topo", "", "")
	capiReports("v1.36.0", "v1.36.0", 1, "v1.36.0", "v1.36.0")
	got := waitCluster(t, c, "Ready at the end of CAPI's chain", inPhase(automationv1alpha1.ClusterPhaseReady))
	_, msg := clusterReady(got)
	assert.Equal(t, "Cluster is Available at v1.36.0", msg)
	assert.False(t, strings.Contains(msg, "wait"))
}

// setField sets one spec field of a CAPI object, as CAPI's topology controller would.
func setField(t *testing.T, ns, apiVersion, kind, name string, value any, fields ...string) {
	t.Helper()
	require.Eventually(t, func() bool {
		u, err := capiObject(t, ns, apiVersion, kind, name)
		if err != nil {
			return false
		}
		_ = unstructured.SetNestedField(u.Object, value, fields...)
		return env.Client.Update(context.Background(), u) == nil
	}, defaultWait, tick)
}

// setTopologyReconciled sets (reason "" removes) the CAPI Cluster's TopologyReconciled
// condition, keeping the others.
func setTopologyReconciled(t *testing.T, ns, name, reason, message string) {
	t.Helper()
	require.Eventually(t, func() bool {
		u, err := capiObject(t, ns, capiV1, "Cluster", name)
		if err != nil {
			return false
		}
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		var kept []any
		for _, c := range conds {
			if c.(map[string]any)["type"] != "TopologyReconciled" {
				kept = append(kept, c)
			}
		}
		if reason != "" {
			kept = append(kept, map[string]any{"type": "TopologyReconciled", "status": "False", "reason": reason, "message": message,
				"lastTransitionTime": metav1.Now().UTC().Format("2006-01-02T15:04:05Z"), "observedGeneration": u.GetGeneration()})
		}
		_ = unstructured.SetNestedSlice(u.Object, kept, "status", "conditions")
		return env.Client.Status().Update(context.Background(), u) == nil
	}, defaultWait, tick)
}
