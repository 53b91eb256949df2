package controllers_test

import (
	"context"
	"testing"

	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/internal/render"
)

// What cluster-api-addon-provider-helm v0.6.4 writes on a HelmReleaseProxy (api/v1alpha1,
// controllers/helmchartproxy/helmchartproxy_controller_phases.go constructHelmReleaseProxy,
// controllers/helmreleaseproxy/helmreleaseproxy_controller.go).
const (
	helmAddonsV1      = "addons.cluster.x-k8s.io/v1alpha1"
	hcpNameLabel      = "helmreleaseproxy.addons.cluster.x-k8s.io/helmchartproxy-name"
	capiClusterName   = "cluster.x-k8s.io/cluster-name"
	releaseInstalledA = "helmreleaseproxy.addons.cluster.x-k8s.io/release-successfully-installed"
)

// A software add-on with a chart renders to a HelmChartProxy; once CAAPH creates the cluster's
// HelmReleaseProxy, status.addons follows its Ready condition: a release being prepared or
// failing is not applied and says why (CAAPH's message), a deployed release is applied.
func TestClusterHelmAddonStatus(t *testing.T) {
	ctx := context.Background()
	ns := clusterFixture(t)
	createProfile(t, ns, "podinfo", automationv1alpha1.SoftwareProfileType, "1.0.0", nil,
		`{"chart":{"repoURL":"https://stefanprodan.github.io/podinfo","name":"podinfo","version":"6.7.1","namespace":"podinfo"}}`)
	c := newCluster(t, ns, "helm", func(c *automationv1alpha1.Cluster) {
		c.Spec.Network = nil // the chart is the only add-on
		c.Spec.Software = []automationv1alpha1.AddonRecipe{{Name: "podinfo",
			Profile: automationv1alpha1.ProfileReference{Name: "podinfo", Type: automationv1alpha1.SoftwareProfileType, Revision: "1.0.0"}}}
	})
	waitCluster(t, c, "applied", func(c *automationv1alpha1.Cluster) bool { return c.Status.AppliedRenderHash != "" })
	hcps := listCAPI(t, ns, helmAddonsV1, "HelmChartProxy")
	require.Len(t, hcps, 1)
	hcp := hcps[0]

	// CAAPH selects the cluster only once L-KaaS labels it, after ControlPlaneInitialized.
	setCAPIConditions(t, ns, "helm", map[string]metav1.ConditionStatus{
		"InfrastructureReady": metav1.ConditionTrue, "ControlPlaneInitialized": metav1.ConditionTrue})
	require.Eventually(t, func() bool {
		capi, err := capiObject(t, ns, capiV1, "Cluster", "helm")
		return err == nil && capi.GetLabels()[render.AddonLabelPrefix+"podinfo"] == hcp.GetName()
	}, defaultWait, tick, "the CAPI Cluster is selected by the HelmChartProxy")
	c = waitCluster(t, c, "waiting for the release", func(c *automationv1alpha1.Cluster) bool {
		st := addonStatus(c, "podinfo")
		return st != nil && st.Message == "not installed yet"
	})
	assert.Equal(t, "HelmChartProxy", addonStatus(c, "podinfo").Kind)
	assert.Equal(t, hcp.GetName(), addonStatus(c, "podinfo").Object)

	// CAAPH's HelmChartProxy controller creates the release proxy for the selected cluster.
	hrp := unstructuredOf(map[string]any{"apiVersion": helmAddonsV1, "kind": "HelmReleaseProxy",
		"metadata": map[string]any{
			"generateName": "podinfo-helm-", "namespace": ns,
			"labels": map[string]any{capiClusterName: "helm", hcpNameLabel: hcp.GetName()},
			"ownerReferences": []any{map[string]any{"apiVersion": helmAddonsV1, "kind": "HelmChartProxy",
				"name": hcp.GetName(), "uid": string(hcp.GetUID()), "controller": true, "blockOwnerDeletion": true}},
		},
		"spec": map[string]any{
			"clusterRef":  map[string]any{"apiVersion": capiV1, "kind": "Cluster", "name": "helm", "namespace": ns},
			"releaseName": "podinfo", "chartName": "podinfo", "repoURL": "https://stefanprodan.github.io/podinfo",
			"namespace": "podinfo", "version": "6.7.1",
		},
	})
	require.NoError(t, env.Client.Create(ctx, hrp))

	// Each step is the status CAAPH's HelmReleaseProxy controller patches: its own
	// ClusterAvailable and HelmReleaseReady, and Ready as CAPI's summary of the two
	// (util/conditions.SetSummaryCondition: "* Type: message" lines for the conditions that
	// are not True, generic reasons IssuesReported/InfoReported).
	const notFound = `chart "podinfo" version "6.7.1" not found in https://stefanprodan.github.io/podinfo repository`
	steps := []struct {
		name        string
		conditions  []any
		release     string
		installed   bool
		wantApplied bool
		wantMessage string
	}{{
		name: "preparing",
		conditions: []any{
			condition("HelmReleaseReady", "False", "PreparingToHelmInstall", "Preparing to to install Helm chart"),
			condition("Ready", "False", "IssuesReported", "* ClusterAvailable: Condition not yet reported\n* HelmReleaseReady: Preparing to to install Helm chart"),
		},
		wantMessage: "* ClusterAvailable: Condition not yet reported\n* HelmReleaseReady: Preparing to to install Helm chart",
	}, {
		name: "install failed",
		conditions: []any{
			condition("ClusterAvailable", "True", "Available", ""),
			condition("HelmReleaseReady", "False", "HelmInstallOrUpgradeFailed", notFound),
			condition("Ready", "False", "IssuesReported", "* HelmReleaseReady: "+notFound),
		},
		wantMessage: "* HelmReleaseReady: " + notFound,
	}, {
		name: "deployed",
		conditions: []any{
			condition("ClusterAvailable", "True", "Available", ""),
			condition("HelmReleaseReady", "True", "Ready", ""),
			condition("Ready", "True", "InfoReported", ""),
		},
		release: "deployed", installed: true, wantApplied: true, wantMessage: "release installed",
	}}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			setHelmReleaseStatus(t, ns, hrp.GetName(), step.conditions, step.release, step.installed)
			got := waitCluster(t, c, "reporting "+step.name, func(c *automationv1alpha1.Cluster) bool {
				st := addonStatus(c, "podinfo")
				return st != nil && st.Applied == step.wantApplied && st.Message == step.wantMessage
			})
			addons := conditions.Get(got, "AddonsApplied")
			require.NotNil(t, addons)
			if step.wantApplied {
				assert.Equal(t, metav1.ConditionTrue, addons.Status)
			} else {
				assert.Equal(t, metav1.ConditionFalse, addons.Status)
				assert.Contains(t, addons.Message, "1 of 1 add-ons not applied")
			}
		})
	}
}

func addonStatus(c *automationv1alpha1.Cluster, name string) *automationv1alpha1.AddonStatus {
	for i := range c.Status.Addons {
		if c.Status.Addons[i].Name == name {
			return &c.Status.Addons[i]
		}
	}
	return nil
}

func condition(typ, status, reason, message string) any {
	return map[string]any{"type": typ, "status": status, "reason": reason, "message": message,
		"lastTransitionTime": metav1.Now().UTC().Format("2006-01-02T15:04:05Z")}
}

// setHelmReleaseStatus patches a HelmReleaseProxy as CAAPH does after a pass: conditions (at
// the object's generation), observedGeneration, the Helm release status and revision, and
// the release-successfully-installed annotation once deployed.
func setHelmReleaseStatus(t *testing.T, ns, name string, conds []any, release string, installed bool) {
	t.Helper()
	require.Eventually(t, func() bool {
		u, err := capiObject(t, ns, helmAddonsV1, "HelmReleaseProxy", name)
		if err != nil {
			return false
		}
		if installed {
			a := u.GetAnnotations()
			if a == nil {
				a = map[string]string{}
			}
			a[releaseInstalledA] = "true"
			u.SetAnnotations(a)
			if env.Client.Update(context.Background(), u) != nil {
				return false
			}
		}
		for _, c := range conds {
			c.(map[string]any)["observedGeneration"] = u.GetGeneration()
		}
		_ = unstructured.SetNestedSlice(u.Object, conds, "status", "conditions")
		_ = unstructured.SetNestedField(u.Object, u.GetGeneration(), "status", "observedGeneration")
		if release != "" {
			_ = unstructured.SetNestedField(u.Object, release, "status", "status")
			_ = unstructured.SetNestedField(u.Object, int64(1), "status", "revision")
		}
		return env.Client.Status().Update(context.Background(), u) == nil
	}, defaultWait, tick)
}
