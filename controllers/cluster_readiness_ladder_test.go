package controllers_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/internal/render"
)

const (
	capiV1    = "cluster.x-k8s.io/v1beta2"
	kcpV1     = "controlplane.cluster.x-k8s.io/v1beta2"
	addonsV1  = "addons.cluster.x-k8s.io/v1beta2"
	calicoKey = render.AddonLabelPrefix + "calico"
)

// The ladder: rendered objects appear owned and labelled; each CAPI condition moves the phase
// one rung; add-ons are selected only once the control plane is initialized; the status
// carries versions and the kubeconfig Secret; then steady state writes nothing.
func TestClusterReadinessLadder(t *testing.T) {
	ctx := context.Background()
	ns := clusterFixture(t)
	c := newCluster(t, ns, "ladder")

	c = waitCluster(t, c, "rendered", func(c *automationv1alpha1.Cluster) bool {
		return c.Status.AppliedRenderHash != "" && c.Status.Phase == automationv1alpha1.ClusterPhasePending
	})
	assert.Equal(t, c.Status.RenderHash, c.Status.AppliedRenderHash)
	assert.Equal(t, metav1.ConditionFalse, readyStatus(c))

	capi, err := capiObject(t, ns, capiV1, "Cluster", "ladder")
	require.NoError(t, err)
	require.Len(t, capi.GetOwnerReferences(), 1)
	assert.Equal(t, c.UID, capi.GetOwnerReferences()[0].UID)
	assert.Equal(t, "ladder", capi.GetLabels()[render.ClusterLabel])
	assert.NotContains(t, capi.GetLabels(), calicoKey, "no add-on selection before ControlPlaneInitialized")
	kcp, err := capiObject(t, ns, kcpV1, "KubeadmControlPlane", "ladder-control-plane")
	require.NoError(t, err)
	assert.Equal(t, c.UID, kcp.GetOwnerReferences()[0].UID)
	crs := listCAPI(t, ns, addonsV1, "ClusterResourceSet")
	require.Len(t, crs, 1)
	assert.Empty(t, crs[0].GetOwnerReferences(), "shared add-on objects have no owner")
	for _, md := range listCAPI(t, ns, capiV1, "MachineDeployment") {
		assert.Equal(t, c.UID, md.GetOwnerReferences()[0].UID)
	}

	setCAPIConditions(t, ns, "ladder", map[string]metav1.ConditionStatus{"InfrastructureReady": metav1.ConditionFalse})
	waitCluster(t, c, "Provisioning", inPhase(automationv1alpha1.ClusterPhaseProvisioning))

	setCAPIConditions(t, ns, "ladder", map[string]metav1.ConditionStatus{
		"InfrastructureReady": metav1.ConditionTrue, "ControlPlaneInitialized": metav1.ConditionTrue})
	c = waitCluster(t, c, "Provisioned", inPhase(automationv1alpha1.ClusterPhaseProvisioned))
	assert.Eventually(t, func() bool {
		capi, err := capiObject(t, ns, capiV1, "Cluster", "ladder")
		return err == nil && capi.GetLabels()[calicoKey] == crs[0].GetLabels()[render.AddonInstanceLabel]
	}, defaultWait, tick, "the add-on label follows ControlPlaneInitialized")

	// The add-on provider reports the ClusterResourceSet applied.
	binding := map[string]any{"apiVersion": addonsV1, "kind": "ClusterResourceSetBinding",
		"metadata": map[string]any{"name": "ladder", "namespace": ns},
		"spec": map[string]any{"clusterName": "ladder", "bindings": []any{map[string]any{
			"clusterResourceSetName": crs[0].GetName(),
			"resources":              []any{map[string]any{"kind": "ConfigMap", "name": crs[0].GetName(), "applied": true}},
		}}}}
	require.NoError(t, env.Client.Create(ctx, unstructuredOf(binding)))
	c = waitCluster(t, c, "reporting calico applied", func(c *automationv1alpha1.Cluster) bool {
		return len(c.Status.Addons) == 1 && c.Status.Addons[0].Applied
	})
	assert.Equal(t, "ClusterResourceSet", c.Status.Addons[0].Kind)

	setCAPIConditions(t, ns, "ladder", map[string]metav1.ConditionStatus{
		"InfrastructureReady": metav1.ConditionTrue, "ControlPlaneInitialized": metav1.ConditionTrue,
		"ControlPlaneAvailable": metav1.ConditionTrue, "WorkersAvailable": metav1.ConditionTrue, "Available": metav1.ConditionTrue})
	setStatusField(t, ns, kcpV1, "KubeadmControlPlane", "ladder-control-plane", "v1.34.1", "version")
	mds := listCAPI(t, ns, capiV1, "MachineDeployment")
	require.Len(t, mds, 1)
	setStatusField(t, ns, capiV1, "MachineDeployment", mds[0].GetName(), []any{map[string]any{"version": "v1.34.1", "replicas": int64(2)}}, "versions")
	require.NoError(t, env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ladder-kubeconfig"},
		Data: map[string][]byte{"value": []byte("kubeconfig")}}))

	c = waitCluster(t, c, "Ready", func(c *automationv1alpha1.Cluster) bool {
		return c.Status.Phase == automationv1alpha1.ClusterPhaseReady && c.Status.KubeconfigSecretName != ""
	})
	assert.Equal(t, metav1.ConditionTrue, readyStatus(c))
	assert.Equal(t, "v1.34.1", c.Status.ControlPlaneVersion)
	assert.Equal(t, "v1.34.1", c.Status.WorkersVersion)
	assert.Equal(t, "ladder-kubeconfig", c.Status.KubeconfigSecretName)
	for _, typ := range []string{"InfrastructureReady", "ControlPlaneInitialized", "ControlPlaneAvailable", "WorkersAvailable", "Available"} {
		assert.True(t, hasTrueCondition(c, typ), typ)
	}

	// A version bump reaches the control plane and the workers; Upgrading until they report it.
	bumpVersion(t, ns, "v1.35.0")
	assert.Eventually(t, func() bool {
		kcp, err := capiObject(t, ns, kcpV1, "KubeadmControlPlane", "ladder-control-plane")
		return err == nil && kcp.Object["spec"].(map[string]any)["version"] == "v1.35.0"
	}, defaultWait, tick)
	waitCluster(t, c, "Upgrading", inPhase(automationv1alpha1.ClusterPhaseUpgrading))
	setStatusField(t, ns, kcpV1, "KubeadmControlPlane", "ladder-control-plane", "v1.35.0", "version")
	setStatusField(t, ns, capiV1, "MachineDeployment", mds[0].GetName(), []any{map[string]any{"version": "v1.35.0", "replicas": int64(2)}}, "versions")
	waitCluster(t, c, "Ready again", inPhase(automationv1alpha1.ClusterPhaseReady))
}

func hasTrueCondition(c *automationv1alpha1.Cluster, typ string) bool {
	for _, cond := range c.Status.Conditions {
		if cond.Type == typ {
			return cond.Status == metav1.ConditionTrue
		}
	}
	return false
}

// bumpVersion changes the Infrastructure profile's Kubernetes version in place.
func bumpVersion(t *testing.T, ns, version string) {
	t.Helper()
	var list automationv1alpha1.InfrastructureProfileList
	require.NoError(t, env.Client.List(context.Background(), &list))
	for i := range list.Items {
		p := &list.Items[i]
		if p.Namespace != ns || p.Spec.Type != automationv1alpha1.InfrastructureProfileType {
			continue
		}
		p.Spec.Values.Raw = []byte(strings.Replace(string(p.Spec.Values.Raw), "v1.34.1", version, 1))
		require.NoError(t, env.Client.Update(context.Background(), p))
	}
}
