package controllers_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/fluxcd/pkg/apis/meta"
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

const existingV1 = "infrastructure.automation.dcn.ssu.ac.kr/v1alpha1"

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
	_, hasCP, _ := unstructured.NestedMap(capi.Object, "spec", "controlPlaneRef")
	assert.False(t, hasCP, "no control plane: CAPI leaves the existing <name>-kubeconfig alone")
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

// A Helm add-on cannot reach an existing cluster (the Helm add-on provider waits for a control
// plane CAPI initialized): refused by name, nothing written; without the label CAPI's
// ClusterCache needs on the kubeconfig Secret, the add-on says what to add.
func TestExistingClusterAddonsRefusedAndUnreachable(t *testing.T) {
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
			Software: []automationv1alpha1.AddonRecipe{{Name: "podinfo",
				Profile: automationv1alpha1.ProfileReference{Name: "podinfo", Type: automationv1alpha1.SoftwareProfileType, Revision: "1.0.0"}}},
		}}}
	require.NoError(t, env.Client.Create(ctx, c))
	got := waitCluster(t, c, "refusing the chart", func(c *automationv1alpha1.Cluster) bool {
		return conditions.IsStalled(c) && conditions.GetReason(c, meta.ReadyCondition) == controllers.ReasonRenderFailed
	})
	assert.Contains(t, conditions.GetMessage(got, meta.ReadyCondition), "Helm add-ons on an existing cluster are not supported")
	_, err := capiObject(t, ns, capiV1, "Cluster", "core")
	assert.True(t, apierrors.IsNotFound(err), "nothing written: %v", err)

	require.NoError(t, retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(c), got); err != nil {
			return err
		}
		got.Spec.Software = nil
		got.Spec.Network = &automationv1alpha1.AddonRecipe{Name: "calico",
			Profile: automationv1alpha1.ProfileReference{Name: "calico", Type: automationv1alpha1.NetworkProfileType, Revision: "1.0.0"}}
		return env.Client.Update(ctx, got)
	}))
	got = waitCluster(t, c, "naming the missing label", func(c *automationv1alpha1.Cluster) bool {
		return conditions.IsReady(c) && len(c.Status.Addons) == 1 && strings.Contains(c.Status.Addons[0].Message, "cluster.x-k8s.io/cluster-name=core")
	})
	assert.False(t, got.Status.Addons[0].Applied)
	assert.False(t, conditions.IsStalled(got))
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
