package render

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/internal/resolve"
)

// existingPlan is an existing cluster (built by other means) with the in-memory plan's
// network add-on.
func existingPlan() *resolve.Plan {
	p := inMemoryPlan(1)
	return &resolve.Plan{Namespace: p.Namespace, Name: "core", LogicalCluster: p.LogicalCluster, Tenant: p.Tenant,
		Labels:   map[string]string{"region": "kr"},
		Existing: &resolve.ExistingPlan{KubeconfigSecret: "core-kubeconfig"}, Network: p.Network}
}

// An existing cluster renders to nothing without add-ons; with add-ons, to the CAPI Cluster
// that represents it (infrastructureRef: its ExistingCluster, controlPlaneRef: its
// ExistingControlPlane) and the add-on objects selecting it, a Helm add-on as any other.
func TestExistingClusterRendersItsRepresentation(t *testing.T) {
	bare := existingPlan()
	bare.Network = nil
	res, err := Render(bare, Options{Root: repoRoot(t)})
	require.NoError(t, err)
	assert.Empty(t, res.Objects, "no add-ons: nothing written for an existing cluster")

	res, err = Render(existingPlan(), Options{Root: repoRoot(t)})
	require.NoError(t, err)
	assert.Equal(t, []string{"Cluster/core", "ExistingCluster/core", "ExistingControlPlane/core", "ConfigMap/", "ClusterResourceSet/"}, kindsAndClusterNames(res))
	c := find(t, res, "Cluster", "core")
	assert.Equal(t, map[string]any{"apiGroup": "infrastructure.automation.dcn.ssu.ac.kr", "kind": "ExistingCluster", "name": "core"},
		nested(t, c, "spec", "infrastructureRef"))
	assert.Equal(t, map[string]any{"apiGroup": "controlplane.automation.dcn.ssu.ac.kr", "kind": "ExistingControlPlane", "name": "core"},
		nested(t, c, "spec", "controlPlaneRef"), "CAPI takes the control plane's initialization from it, and leaves <name>-kubeconfig alone")
	crs := find(t, res, "ClusterResourceSet", "")
	assert.Equal(t, crs.GetLabels()[AddonInstanceLabel], c.GetLabels()[AddonLabelPrefix+"calico"], "the add-on selects the CAPI Cluster")
	assert.Equal(t, "kr", c.GetLabels()["region"])
	infra := find(t, res, "ExistingCluster", "core")
	assert.Equal(t, "lkaas", infra.GetLabels()[CAPIManagedByLabel])
	assert.Equal(t, "core", infra.GetLabels()[ClusterLabel])
	cp := find(t, res, "ExistingControlPlane", "core")
	assert.Equal(t, "core", cp.GetLabels()[ClusterLabel])
	assert.Equal(t, map[string]any{}, cp.Object["spec"], "no replicas, no version: L-KaaS neither scales nor upgrades it")
	assert.NotContains(t, cp.Object, "status", "its status comes from the probe, not from Git")

	helm := existingPlan()
	helm.Software = []resolve.Addon{{Name: "podinfo", Profile: resolve.ResolvedProfile{
		Key:    key("default", "podinfo", automationv1alpha1.SoftwareProfileType, "1.0.0"),
		Values: map[string]any{"chart": map[string]any{"repoURL": "https://stefanprodan.github.io/podinfo", "name": "podinfo", "version": "6.7.1"}},
	}}}
	res, err = Render(helm, Options{Root: repoRoot(t)})
	require.NoError(t, err, "a Helm add-on on an existing cluster renders")
	assert.Equal(t, []string{"Cluster/core", "ExistingCluster/core", "ExistingControlPlane/core", "ConfigMap/", "ClusterResourceSet/", "HelmChartProxy/"}, kindsAndClusterNames(res))
	c = find(t, res, "Cluster", "core")
	hcp := find(t, res, "HelmChartProxy", "")
	assert.Equal(t, hcp.GetLabels()[AddonInstanceLabel], c.GetLabels()[AddonLabelPrefix+"podinfo"], "the HelmChartProxy selects the CAPI Cluster")
}

// kindsAndClusterNames lists kind/name, with the names of shared add-on objects left out.
func kindsAndClusterNames(res *Result) []string {
	var out []string
	for _, o := range res.Objects {
		name := o.GetName()
		if IsShared(o) {
			name = ""
		}
		out = append(out, o.GetKind()+"/"+name)
	}
	return out
}
