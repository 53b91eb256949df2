package controllers_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/controllers"
)

// setProfileValues replaces the fixture's Infrastructure profile values.
func setProfileValues(t *testing.T, ns, values string) {
	t.Helper()
	var list automationv1alpha1.InfrastructureProfileList
	require.NoError(t, env.Client.List(context.Background(), &list))
	for i := range list.Items {
		p := &list.Items[i]
		if p.Namespace == ns && p.Spec.Type == automationv1alpha1.InfrastructureProfileType {
			p.Spec.Values.Raw = []byte(values)
			require.NoError(t, env.Client.Update(context.Background(), p))
		}
	}
}

// versionsAsked reads what the KubeadmControlPlane and the MachineDeployment are asked to run.
func versionsAsked(t *testing.T, ns, name string) (controlPlane, workers string) {
	t.Helper()
	kcp, err := capiObject(t, ns, kcpV1, "KubeadmControlPlane", name+"-control-plane")
	require.NoError(t, err)
	controlPlane, _, _ = unstructured.NestedString(kcp.Object, "spec", "version")
	md, err := capiObject(t, ns, capiV1, "MachineDeployment", name+"-md-0") // the template's one pool
	require.NoError(t, err)
	workers, _, _ = unstructured.NestedString(md.Object, "spec", "template", "spec", "version")
	return controlPlane, workers
}

func clusterReady(c *automationv1alpha1.Cluster) (string, string) {
	for _, cond := range c.Status.Conditions {
		if cond.Type == "Ready" {
			return cond.Reason, cond.Message
		}
	}
	return "", ""
}

// A two-minor jump with a listed intermediate version runs as two steps, each the control
// plane first (until every control-plane machine reports it) and then the workers; the
// Cluster says what it waits for. Then a downgrade is refused and nothing is written.
func TestClusterChainedUpgradeOrdersControlPlaneThenWorkers(t *testing.T) {
	ns := clusterFixture(t)
	c := newCluster(t, ns, "chain")
	c = waitCluster(t, c, "applied", func(c *automationv1alpha1.Cluster) bool { return c.Status.AppliedRenderHash != "" })
	md := listCAPI(t, ns, capiV1, "MachineDeployment")[0].GetName()
	report := func(controlPlane string, upToDate int64, workers string) {
		setStatusField(t, ns, kcpV1, "KubeadmControlPlane", "chain-control-plane", int64(1), "replicas")
		setStatusField(t, ns, kcpV1, "KubeadmControlPlane", "chain-control-plane", upToDate, "upToDateReplicas")
		setStatusField(t, ns, kcpV1, "KubeadmControlPlane", "chain-control-plane", controlPlane, "version")
		setStatusField(t, ns, capiV1, "MachineDeployment", md, []any{map[string]any{"version": workers, "replicas": int64(2)}}, "versions")
	}
	setCAPIConditions(t, ns, "chain", map[string]metav1.ConditionStatus{
		"InfrastructureReady": metav1.ConditionTrue, "ControlPlaneInitialized": metav1.ConditionTrue,
		"ControlPlaneAvailable": metav1.ConditionTrue, "WorkersAvailable": metav1.ConditionTrue, "Available": metav1.ConditionTrue})
	report("v1.34.1", 1, "v1.34.1")
	waitCluster(t, c, "Ready", inPhase(automationv1alpha1.ClusterPhaseReady))

	setProfileValues(t, ns, `{"kubernetesVersion":"v1.36.0","kubernetesVersions":["v1.35.0","v1.35.3"],"controlPlaneMachineCount":1,"workerMachineCount":2}`)
	waitingFor := func(what string) {
		t.Helper()
		waitCluster(t, c, what, func(c *automationv1alpha1.Cluster) bool {
			_, msg := clusterReady(c)
			return strings.Contains(msg, what)
		})
	}

	// Step 1: the control plane to v1.35.3, the workers held while it rolls.
	waitingFor("at v1.35.3; workers wait for the control plane")
	cp, w := versionsAsked(t, ns, "chain")
	assert.Equal(t, "v1.35.3", cp)
	assert.Equal(t, "v1.34.1", w, "workers wait for the control plane")
	report("v1.34.1", 0, "v1.34.1") // CAPI: the machine is not at the new spec yet
	waitingFor("control plane 0/1 at v1.35.3; workers wait for the control plane")
	_, w = versionsAsked(t, ns, "chain")
	assert.Equal(t, "v1.34.1", w, "workers still wait")

	report("v1.35.3", 1, "v1.34.1")
	waitingFor("workers rolling to v1.35.3 (now v1.34.1)")
	cp, w = versionsAsked(t, ns, "chain")
	assert.Equal(t, "v1.35.3", cp, "the next step waits for the workers")
	assert.Equal(t, "v1.35.3", w)

	// Step 2: the workers report v1.35.3, the control plane goes to v1.36.0.
	report("v1.35.3", 1, "v1.35.3")
	waitingFor("at v1.36.0; workers wait for the control plane")
	report("v1.35.3", 0, "v1.35.3")
	waitingFor("control plane 0/1 at v1.36.0; workers wait for the control plane")
	cp, w = versionsAsked(t, ns, "chain")
	assert.Equal(t, "v1.36.0", cp)
	assert.Equal(t, "v1.35.3", w)
	report("v1.36.0", 1, "v1.35.3")
	waitingFor("workers rolling to v1.36.0")
	report("v1.36.0", 1, "v1.36.0")
	waitCluster(t, c, "Ready at the end of the chain", inPhase(automationv1alpha1.ClusterPhaseReady))

	// A downgrade: refused, said why, nothing written.
	kcp, err := capiObject(t, ns, kcpV1, "KubeadmControlPlane", "chain-control-plane")
	require.NoError(t, err)
	mdBefore := listCAPI(t, ns, capiV1, "MachineDeployment")[0]
	setProfileValues(t, ns, `{"kubernetesVersion":"v1.35.3","controlPlaneMachineCount":1,"workerMachineCount":2}`)
	c = waitCluster(t, c, "refused", func(c *automationv1alpha1.Cluster) bool {
		reason, _ := clusterReady(c)
		return reason == controllers.ReasonUpgradeRefused && c.Status.Phase == automationv1alpha1.ClusterPhaseFailed
	})
	_, msg := clusterReady(c)
	assert.Equal(t, "kubernetesVersion v1.35.3 is older than v1.36.0, which the control plane runs: Kubernetes cannot downgrade a control plane (etcd and storage versions only move forward) (rule no-downgrade); an upgrade this cluster already started cannot be reverted: keep its version or move forward", msg)
	kcpAfter, err := capiObject(t, ns, kcpV1, "KubeadmControlPlane", "chain-control-plane")
	require.NoError(t, err)
	assert.Equal(t, kcp.GetResourceVersion(), kcpAfter.GetResourceVersion(), "the control plane is not written")
	assert.Equal(t, mdBefore.GetResourceVersion(), listCAPI(t, ns, capiV1, "MachineDeployment")[0].GetResourceVersion(), "nor the workers")
}
