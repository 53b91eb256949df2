package controllers_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/controllers"
	"github.com/dcn-ssu/lkaas/internal/render"
)

const (
	existingV1   = "infrastructure.automation.dcn.ssu.ac.kr/v1alpha1"
	existingCPV1 = "controlplane.automation.dcn.ssu.ac.kr/v1alpha1"
)

// An existing cluster's network add-on: L-KaaS represents the cluster with a CAPI Cluster whose
// infrastructureRef is an ExistingCluster it fulfils (endpoint from the kubeconfig, provisioned
// once the API server answers), so that CAPI's ClusterResourceSets reach it through its own
// <name>-kubeconfig. Switching the add-ons off deletes the representation and on writes it
// again; removing the cluster deletes it and leaves the kubeconfig Secret and the cluster alone.
func TestExistingClusterAddonsRepresentation(t *testing.T) {
	ctx := context.Background()
	other := startOtherAPIServer(t)
	otherClient, err := client.New(other.Config, client.Options{})
	require.NoError(t, err)
	precious := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "precious"}, Data: map[string]string{"keep": "me"}}
	require.NoError(t, otherClient.Create(ctx, precious))

	ns := clusterFixture(t)
	host := hostPort(t, other.Config.Host)
	writeKubeconfig(t, env.Client, ns, "core", adminKubeconfig(t, other, host))
	c := &automationv1alpha1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "core", Labels: map[string]string{"region": "kr"}},
		Spec: automationv1alpha1.ClusterSpec{Existing: &automationv1alpha1.ExistingCluster{}}}
	require.NoError(t, env.Client.Create(ctx, c))
	waitCluster(t, c, "Ready without add-ons", func(c *automationv1alpha1.Cluster) bool { return conditions.IsReady(c) })
	_, err = capiObject(t, ns, capiV1, "Cluster", "core")
	require.True(t, apierrors.IsNotFound(err), "no add-ons, no representation: %v", err)

	calico := &automationv1alpha1.AddonRecipe{Name: "calico",
		Profile: automationv1alpha1.ProfileReference{Name: "calico", Type: automationv1alpha1.NetworkProfileType, Revision: "1.0.0"}}
	setNetwork := func(n *automationv1alpha1.AddonRecipe) {
		t.Helper()
		require.NoError(t, retry.RetryOnConflict(retry.DefaultRetry, func() error {
			got := &automationv1alpha1.Cluster{}
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(c), got); err != nil {
				return err
			}
			got.Spec.Network = n
			return env.Client.Update(ctx, got)
		}))
	}

	// Switched on: the representation, the add-on's ClusterResourceSet selecting it.
	setNetwork(calico)
	got := waitCluster(t, c, "provisioned in Cluster API", func(c *automationv1alpha1.Cluster) bool {
		infra, err := capiObject(t, ns, existingV1, "ExistingCluster", "core")
		provisioned, _, _ := unstructured.NestedBool(infra.Object, "status", "initialization", "provisioned")
		return err == nil && provisioned && len(c.Status.Addons) == 1
	})
	assert.True(t, conditions.IsReady(got))
	capi, err := capiObject(t, ns, capiV1, "Cluster", "core")
	require.NoError(t, err)
	ref, _, _ := unstructured.NestedStringMap(capi.Object, "spec", "infrastructureRef")
	assert.Equal(t, map[string]string{"apiGroup": "infrastructure.automation.dcn.ssu.ac.kr", "kind": "ExistingCluster", "name": "core"}, ref)
	assert.Equal(t, "kr", capi.GetLabels()["region"], "the cluster's labels, for selection by place")
	cpRef, _, _ := unstructured.NestedStringMap(capi.Object, "spec", "controlPlaneRef")
	assert.Equal(t, map[string]string{"apiGroup": "controlplane.automation.dcn.ssu.ac.kr", "kind": "ExistingControlPlane", "name": "core"}, cpRef,
		"a control plane of its own: CAPI leaves the existing <name>-kubeconfig to it")
	crs := listCAPI(t, ns, addonsV1, "ClusterResourceSet")
	require.Len(t, crs, 1)
	id := crs[0].GetLabels()[render.AddonInstanceLabel]
	assert.Equal(t, id, capi.GetLabels()[render.AddonLabelPrefix+"calico"], "the add-on label is on the CAPI Cluster from the start")

	infra, err := capiObject(t, ns, existingV1, "ExistingCluster", "core")
	require.NoError(t, err)
	assert.Equal(t, "lkaas", infra.GetLabels()["cluster.x-k8s.io/managed-by"], "no provider's controller acts on it")
	endpoint, _, _ := unstructured.NestedMap(infra.Object, "spec", "controlPlaneEndpoint")
	h, p, _ := strings.Cut(host, ":")
	assert.Equal(t, h, endpoint["host"], "the kubeconfig's server")
	assert.EqualValues(t, mustAtoi(t, p), endpoint["port"])
	for _, o := range []*unstructured.Unstructured{capi, infra} {
		require.Len(t, o.GetOwnerReferences(), 1, "%s", o.GetKind())
		assert.Equal(t, got.UID, o.GetOwnerReferences()[0].UID, "%s is the L-KaaS Cluster's", o.GetKind())
	}
	assert.Equal(t, "ClusterResourceSet", got.Status.Addons[0].Kind)
	assert.False(t, got.Status.Addons[0].Applied, "no ClusterResourceSetBinding yet")
	assert.Equal(t, got.Status.RenderHash, got.Status.AppliedRenderHash, "an existing cluster is never pending in a rollout")

	// CAPI's add-on provider reports it applied.
	binding := map[string]any{"apiVersion": addonsV1, "kind": "ClusterResourceSetBinding",
		"metadata": map[string]any{"name": "core", "namespace": ns},
		"spec": map[string]any{"clusterName": "core", "bindings": []any{map[string]any{
			"clusterResourceSetName": crs[0].GetName(),
			"resources":              []any{map[string]any{"kind": "ConfigMap", "name": crs[0].GetName(), "applied": true}},
		}}}}
	require.NoError(t, env.Client.Create(ctx, unstructuredOf(binding)))
	waitCluster(t, c, "reporting the add-on applied", func(c *automationv1alpha1.Cluster) bool {
		return len(c.Status.Addons) == 1 && c.Status.Addons[0].Applied && conditions.IsTrue(c, controllers.AddonsAppliedCondition)
	})

	// Switched off: the representation goes, the Secret and the cluster stay.
	setNetwork(nil)
	waitGone(t, ns, capiV1, "Cluster", "core")
	waitGone(t, ns, existingV1, "ExistingCluster", "core")
	waitGone(t, ns, existingCPV1, "ExistingControlPlane", "core")
	waitGone(t, ns, addonsV1, "ClusterResourceSet", crs[0].GetName())
	got = waitCluster(t, c, "Ready without add-ons again", func(c *automationv1alpha1.Cluster) bool {
		return conditions.IsReady(c) && c.Status.Addons == nil && conditions.Get(c, controllers.AddonsAppliedCondition) == nil
	})
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "core-kubeconfig"}, &corev1.Secret{}))

	// On again, then the cluster leaves Git: the representation goes with it; the Secret and
	// the cluster's data stay.
	setNetwork(calico)
	waitCluster(t, c, "represented again", func(c *automationv1alpha1.Cluster) bool { return len(c.Status.Addons) == 1 })
	_, err = capiObject(t, ns, existingV1, "ExistingCluster", "core")
	require.NoError(t, err)
	require.NoError(t, env.Client.Delete(ctx, got))
	require.Eventually(t, func() bool {
		return apierrors.IsNotFound(env.Client.Get(ctx, client.ObjectKeyFromObject(c), &automationv1alpha1.Cluster{}))
	}, defaultWait, tick, "the Cluster goes")
	waitGone(t, ns, capiV1, "Cluster", "core")
	waitGone(t, ns, addonsV1, "ClusterResourceSet", crs[0].GetName())
	secret := &corev1.Secret{}
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "core-kubeconfig"}, secret), "the kubeconfig Secret is the operator's")
	assert.Empty(t, secret.OwnerReferences, "and nothing owns it, so no garbage collection takes it")
	kept := &corev1.ConfigMap{}
	require.NoError(t, otherClient.Get(ctx, client.ObjectKeyFromObject(precious), kept))
	assert.Equal(t, precious.Data, kept.Data, "the existing cluster's data is untouched")
}

// A Helm add-on on an existing cluster: the render makes its HelmChartProxy beside the
// representation, whose controlPlaneRef names an ExistingControlPlane that L-KaaS marks
// initialized (and Available) once the API server answers, so that CAPI reports the control
// plane initialized as the Helm add-on provider needs; the CAPI Cluster is labelled for the
// HelmChartProxy at once, and the HelmReleaseProxy CAAPH writes turns the add-on applied. A
// kubeconfig that stops answering leaves the control plane initialized (the contract's field
// stays true) but not Available. Removing the cluster deletes the representation, never the
// Secret.
func TestExistingClusterHelmAddon(t *testing.T) {
	ctx := context.Background()
	other := startOtherAPIServer(t)
	ns := clusterFixture(t)
	createProfile(t, ns, "podinfo", automationv1alpha1.SoftwareProfileType, "1.0.0", nil,
		`{"chart":{"repoURL":"https://stefanprodan.github.io/podinfo","name":"podinfo","version":"6.7.1","namespace":"podinfo"}}`)
	host := hostPort(t, other.Config.Host)
	writeKubeconfig(t, env.Client, ns, "core", adminKubeconfig(t, other, host))
	c := &automationv1alpha1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "core"},
		Spec: automationv1alpha1.ClusterSpec{Existing: &automationv1alpha1.ExistingCluster{}, ClusterRecipe: automationv1alpha1.ClusterRecipe{
			Software: []automationv1alpha1.AddonRecipe{{Name: "podinfo",
				Profile: automationv1alpha1.ProfileReference{Name: "podinfo", Type: automationv1alpha1.SoftwareProfileType, Revision: "1.0.0"}}},
		}}}
	require.NoError(t, env.Client.Create(ctx, c))
	controlPlane := func() *unstructured.Unstructured {
		t.Helper()
		cp, err := capiObject(t, ns, existingCPV1, "ExistingControlPlane", "core")
		if err != nil {
			return nil
		}
		return cp
	}
	initialized := func(cp *unstructured.Unstructured) bool {
		done, _, _ := unstructured.NestedBool(cp.Object, "status", "initialization", "controlPlaneInitialized")
		return done
	}
	got := waitCluster(t, c, "represented, its control plane initialized", func(c *automationv1alpha1.Cluster) bool {
		cp := controlPlane()
		return conditions.IsReady(c) && len(c.Status.Addons) == 1 && cp != nil && initialized(cp)
	})
	assert.False(t, conditions.IsStalled(got), "a Helm add-on is no longer refused")

	capi, err := capiObject(t, ns, capiV1, "Cluster", "core")
	require.NoError(t, err)
	ref, _, _ := unstructured.NestedStringMap(capi.Object, "spec", "controlPlaneRef")
	assert.Equal(t, map[string]string{"apiGroup": "controlplane.automation.dcn.ssu.ac.kr", "kind": "ExistingControlPlane", "name": "core"}, ref)
	hcps := listCAPI(t, ns, helmAddonsV1, "HelmChartProxy")
	require.Len(t, hcps, 1)
	hcp := hcps[0]
	assert.Equal(t, hcp.GetName(), capi.GetLabels()[render.AddonLabelPrefix+"podinfo"], "selected by the HelmChartProxy from the start: its control plane runs")
	cp := controlPlane()
	require.Len(t, cp.GetOwnerReferences(), 1)
	assert.Equal(t, got.UID, cp.GetOwnerReferences()[0].UID, "the ExistingControlPlane is the L-KaaS Cluster's")
	available := findCond(t, cp, "Available")
	assert.Equal(t, "True", available["status"], "%v", available)
	assert.Equal(t, controllers.ReasonAPIServerReady, available["reason"])
	_, hasReplicas, _ := unstructured.NestedFieldNoCopy(cp.Object, "spec", "replicas")
	assert.False(t, hasReplicas, "no replicas: CAPI reports none for a control plane it cannot count")
	st := addonStatus(got, "podinfo")
	assert.Equal(t, "HelmChartProxy", st.Kind)
	assert.Equal(t, hcp.GetName(), st.Object)
	assert.Equal(t, "not installed yet", st.Message)

	// CAAPH's HelmChartProxy controller creates the release proxy; its release is deployed.
	hrp := unstructuredOf(map[string]any{"apiVersion": helmAddonsV1, "kind": "HelmReleaseProxy",
		"metadata": map[string]any{
			"generateName": "podinfo-core-", "namespace": ns,
			"labels": map[string]any{capiClusterName: "core", hcpNameLabel: hcp.GetName()},
			"ownerReferences": []any{map[string]any{"apiVersion": helmAddonsV1, "kind": "HelmChartProxy",
				"name": hcp.GetName(), "uid": string(hcp.GetUID()), "controller": true, "blockOwnerDeletion": true}},
		},
		"spec": map[string]any{
			"clusterRef":  map[string]any{"apiVersion": capiV1, "kind": "Cluster", "name": "core", "namespace": ns},
			"releaseName": "podinfo", "chartName": "podinfo", "repoURL": "https://stefanprodan.github.io/podinfo",
			"namespace": "podinfo", "version": "6.7.1",
		},
	})
	require.NoError(t, env.Client.Create(ctx, hrp))
	setHelmReleaseStatus(t, ns, hrp.GetName(), []any{
		condition("ClusterAvailable", "True", "Available", ""),
		condition("HelmReleaseReady", "True", "Ready", ""),
		condition("Ready", "True", "InfoReported", ""),
	}, "deployed", true)
	waitCluster(t, c, "reporting the chart installed", func(c *automationv1alpha1.Cluster) bool {
		st := addonStatus(c, "podinfo")
		return st != nil && st.Applied && st.Message == "release installed" && conditions.IsTrue(c, controllers.AddonsAppliedCondition)
	})

	// The kubeconfig names a port nothing answers on: still initialized, no longer Available.
	writeKubeconfig(t, env.Client, ns, "core", adminKubeconfig(t, other, "127.0.0.1:1"))
	require.Eventually(t, func() bool {
		cp := controlPlane()
		return cp != nil && findCond(t, cp, "Available")["status"] == "False"
	}, defaultWait, tick, "the ExistingControlPlane not Available")
	cp = controlPlane()
	assert.True(t, initialized(cp), "controlPlaneInitialized stays true, as the contract asks")
	assert.Equal(t, controllers.ReasonAPIServerUnreachable, findCond(t, cp, "Available")["reason"])
	writeKubeconfig(t, env.Client, ns, "core", adminKubeconfig(t, other, host))
	require.Eventually(t, func() bool {
		cp := controlPlane()
		return cp != nil && findCond(t, cp, "Available")["status"] == "True"
	}, defaultWait, tick, "Available again")

	// Removed: the representation goes (the ExistingControlPlane with it), the Secret stays.
	require.NoError(t, env.Client.Delete(ctx, got))
	require.Eventually(t, func() bool {
		return apierrors.IsNotFound(env.Client.Get(ctx, client.ObjectKeyFromObject(c), &automationv1alpha1.Cluster{}))
	}, defaultWait, tick, "the Cluster goes")
	waitGone(t, ns, capiV1, "Cluster", "core")
	waitGone(t, ns, existingCPV1, "ExistingControlPlane", "core")
	waitGone(t, ns, existingV1, "ExistingCluster", "core")
	waitGone(t, ns, helmAddonsV1, "HelmChartProxy", hcp.GetName())
	secret := &corev1.Secret{}
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "core-kubeconfig"}, secret), "the kubeconfig Secret is the operator's")
	assert.Empty(t, secret.OwnerReferences)
}

// Without the label CAPI's ClusterCache needs on the kubeconfig Secret, a ClusterResourceSet
// add-on says what to add; a Helm add-on beside it does not (the Helm add-on provider reads
// the Secret through a cache of every Secret), it waits for its release.
func TestExistingClusterAddonsUnreachable(t *testing.T) {
	ctx := context.Background()
	other := startOtherAPIServer(t)
	ns := clusterFixture(t)
	createProfile(t, ns, "podinfo", automationv1alpha1.SoftwareProfileType, "1.0.0", nil,
		`{"chart":{"repoURL":"https://stefanprodan.github.io/podinfo","name":"podinfo","version":"6.7.1","namespace":"podinfo"}}`)
	unlabelled := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "core-kubeconfig"},
		Data: map[string][]byte{"value": []byte(adminKubeconfig(t, other, hostPort(t, other.Config.Host)))}}
	require.NoError(t, env.Client.Create(ctx, unlabelled))
	c := &automationv1alpha1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "core"},
		Spec: automationv1alpha1.ClusterSpec{Existing: &automationv1alpha1.ExistingCluster{}, ClusterRecipe: automationv1alpha1.ClusterRecipe{
			Network: &automationv1alpha1.AddonRecipe{Name: "calico",
				Profile: automationv1alpha1.ProfileReference{Name: "calico", Type: automationv1alpha1.NetworkProfileType, Revision: "1.0.0"}},
			Software: []automationv1alpha1.AddonRecipe{{Name: "podinfo",
				Profile: automationv1alpha1.ProfileReference{Name: "podinfo", Type: automationv1alpha1.SoftwareProfileType, Revision: "1.0.0"}}},
		}}}
	require.NoError(t, env.Client.Create(ctx, c))
	got := waitCluster(t, c, "naming the missing label", func(c *automationv1alpha1.Cluster) bool {
		st := addonStatus(c, "calico")
		return conditions.IsReady(c) && len(c.Status.Addons) == 2 && st != nil && strings.Contains(st.Message, "cluster.x-k8s.io/cluster-name=core")
	})
	assert.False(t, addonStatus(got, "calico").Applied)
	assert.Equal(t, "not installed yet", addonStatus(got, "podinfo").Message)
	assert.False(t, conditions.IsStalled(got))
}

// Add-ons switched off while the kubeconfig Secret is gone: the representation needs no
// kubeconfig to go, so it goes; then the cluster leaves Git without its Secret, and goes too.
func TestExistingClusterAddonsOffWithoutKubeconfig(t *testing.T) {
	ctx := context.Background()
	other := startOtherAPIServer(t)
	ns := clusterFixture(t)
	writeKubeconfig(t, env.Client, ns, "core", adminKubeconfig(t, other, hostPort(t, other.Config.Host)))
	c := &automationv1alpha1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "core"},
		Spec: automationv1alpha1.ClusterSpec{Existing: &automationv1alpha1.ExistingCluster{}, ClusterRecipe: automationv1alpha1.ClusterRecipe{
			Network: &automationv1alpha1.AddonRecipe{Name: "calico",
				Profile: automationv1alpha1.ProfileReference{Name: "calico", Type: automationv1alpha1.NetworkProfileType, Revision: "1.0.0"}},
		}}}
	require.NoError(t, env.Client.Create(ctx, c))
	waitCluster(t, c, "represented", func(c *automationv1alpha1.Cluster) bool { return conditions.IsReady(c) && len(c.Status.Addons) == 1 })
	crs := listCAPI(t, ns, addonsV1, "ClusterResourceSet")
	require.Len(t, crs, 1)

	require.NoError(t, env.Client.Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "core-kubeconfig"}}))
	waitCluster(t, c, "waiting for its kubeconfig", func(c *automationv1alpha1.Cluster) bool {
		return conditions.GetReason(c, "Available") == controllers.ReasonKubeconfigMissing
	})
	require.NoError(t, retry.RetryOnConflict(retry.DefaultRetry, func() error {
		got := &automationv1alpha1.Cluster{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(c), got); err != nil {
			return err
		}
		got.Spec.Network = nil
		return env.Client.Update(ctx, got)
	}))
	waitGone(t, ns, capiV1, "Cluster", "core")
	waitGone(t, ns, existingV1, "ExistingCluster", "core")
	waitGone(t, ns, existingCPV1, "ExistingControlPlane", "core")
	waitGone(t, ns, addonsV1, "ClusterResourceSet", crs[0].GetName())
	got := waitCluster(t, c, "nothing recorded", func(c *automationv1alpha1.Cluster) bool {
		return c.Status.Addons == nil && conditions.GetReason(c, "Available") == controllers.ReasonKubeconfigMissing
	})

	require.NoError(t, env.Client.Delete(ctx, got))
	require.Eventually(t, func() bool {
		return apierrors.IsNotFound(env.Client.Get(ctx, client.ObjectKeyFromObject(c), &automationv1alpha1.Cluster{}))
	}, defaultWait, tick, "the Cluster goes without its Secret")
}

// findCond is the condition of type typ in an object's status.conditions, or nil.
func findCond(t *testing.T, u *unstructured.Unstructured, typ string) map[string]any {
	t.Helper()
	list, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, item := range list {
		if m, ok := item.(map[string]any); ok && m["type"] == typ {
			return m
		}
	}
	return nil
}

func waitGone(t *testing.T, ns, apiVersion, kind, name string) {
	t.Helper()
	require.Eventually(t, func() bool {
		_, err := capiObject(t, ns, apiVersion, kind, name)
		return apierrors.IsNotFound(err)
	}, defaultWait, tick, "%s %s goes", kind, name)
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	require.NoError(t, err)
	return n
}
