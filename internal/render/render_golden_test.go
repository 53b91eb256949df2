package render

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/dcn-ssu/lkaas/internal/resolve"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// golden compares got with testdata/golden/<name>.yaml, rewriting it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name+".yaml")
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./internal/render -run %s -update to create it", t.Name())
	assert.Equal(t, string(want), string(got), "rendered output differs from %s (-update rewrites it)", path)
}

// renderTwice renders a plan with two fresh Renderers and checks the bytes are identical.
func renderTwice(t *testing.T, plan func() *resolve.Plan, opts Options) (*Result, []byte) {
	t.Helper()
	res, err := Render(plan(), opts)
	require.NoError(t, err)
	out, err := res.YAML()
	require.NoError(t, err)
	again, err := Render(plan(), opts)
	require.NoError(t, err)
	out2, err := again.YAML()
	require.NoError(t, err)
	require.Equal(t, string(out), string(out2), "the same plan must render to the same bytes")
	return res, out
}

func find(t *testing.T, res *Result, kind, nameContains string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range res.Objects {
		if o.GetKind() == kind && (nameContains == "" || contains(o.GetName(), nameContains)) {
			return o
		}
	}
	t.Fatalf("no %s named like %q in %v", kind, nameContains, names(res))
	return nil
}

func contains(s, sub string) bool { return len(sub) == 0 || indexOf(s, sub) >= 0 }

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

func names(res *Result) []string {
	var out []string
	for _, o := range res.Objects {
		out = append(out, o.GetKind()+"/"+o.GetName())
	}
	return out
}

func nested(t *testing.T, o *unstructured.Unstructured, fields ...string) any {
	t.Helper()
	v, ok, err := unstructured.NestedFieldNoCopy(o.Object, fields...)
	require.NoError(t, err)
	require.True(t, ok, "%s/%s has no %v", o.GetKind(), o.GetName(), fields)
	return v
}

func TestSeedClusterSampleRendersWithItsOverrideAndFlavours(t *testing.T) {
	opts := Options{Root: repoRoot(t), Variables: openstackFleetVariables()}
	res, out := renderTwice(t, seedClusterSamplePlan, opts)
	golden(t, "openstack-cluster-sample", out)

	assert.Equal(t, []string{
		"Cluster/cluster-sample",
		"OpenStackCluster/cluster-sample",
		"KubeadmControlPlane/cluster-sample-control-plane",
		"KubeadmConfigTemplate/" + find(t, res, "KubeadmConfigTemplate", "").GetName(),
		"OpenStackMachineTemplate/" + find(t, res, "OpenStackMachineTemplate", "control-plane").GetName(),
		"OpenStackMachineTemplate/" + find(t, res, "OpenStackMachineTemplate", "md-0").GetName(),
		"MachineDeployment/cluster-sample-md-0",
		"Secret/cluster-sample-cloud-config",
		"ConfigMap/" + find(t, res, "ConfigMap", "calico-v1-1-0-0-").GetName(),
		"ClusterResourceSet/" + find(t, res, "ClusterResourceSet", "calico-v1-1-0-0-").GetName(),
		"HelmChartProxy/" + find(t, res, "HelmChartProxy", "prometheus-default-1-0-0-").GetName(),
	}, names(res))

	kcp := find(t, res, "KubeadmControlPlane", "")
	assert.Equal(t, "v1.25.0", nested(t, kcp, "spec", "version"), "the Cluster's override wins over the profile's v1.24.8")
	assert.Equal(t, int64(1), nested(t, kcp, "spec", "replicas"))
	cpTemplate := nested(t, kcp, "spec", "machineTemplate", "spec", "infrastructureRef", "name").(string)

	md := find(t, res, "MachineDeployment", "")
	assert.Equal(t, int64(3), nested(t, md, "spec", "replicas"))
	assert.Equal(t, "v1.25.0", nested(t, md, "spec", "template", "spec", "version"))
	workerTemplate := nested(t, md, "spec", "template", "spec", "infrastructureRef", "name").(string)
	bootstrap := nested(t, md, "spec", "template", "spec", "bootstrap", "configRef", "name").(string)

	cpOSMT := find(t, res, "OpenStackMachineTemplate", "control-plane")
	assert.Equal(t, cpTemplate, cpOSMT.GetName(), "KCP points at the hashed control-plane template")
	assert.Equal(t, "m1.medium", nested(t, cpOSMT, "spec", "template", "spec", "flavor"))
	mdOSMT := find(t, res, "OpenStackMachineTemplate", "md-0")
	assert.Equal(t, workerTemplate, mdOSMT.GetName(), "the MachineDeployment points at the hashed worker template")
	assert.Equal(t, "m1.large", nested(t, mdOSMT, "spec", "template", "spec", "flavor"))
	assert.Equal(t, bootstrap, find(t, res, "KubeadmConfigTemplate", "").GetName())
	assert.Regexp(t, `^cluster-sample-control-plane-[0-9a-f]{8}$`, cpTemplate)
	assert.Regexp(t, `^cluster-sample-md-0-[0-9a-f]{8}$`, workerTemplate)

	cluster := find(t, res, "Cluster", "cluster-sample")
	assert.Equal(t, []any{"10.96.0.0/12"}, nested(t, cluster, "spec", "clusterNetwork", "pods", "cidrBlocks"))
	assert.Equal(t, []any{"192.168.0.0/16"}, nested(t, cluster, "spec", "clusterNetwork", "services", "cidrBlocks"))

	// Every object is in the plan's namespace; the cluster's own objects carry its labels.
	for _, o := range res.Objects {
		assert.Equal(t, "starlab", o.GetNamespace(), "%s/%s", o.GetKind(), o.GetName())
		if IsShared(o) {
			assert.NotContains(t, o.GetLabels(), ClusterLabel)
			continue
		}
		assert.Equal(t, "cluster-sample", o.GetLabels()[ClusterLabel], "%s/%s", o.GetKind(), o.GetName())
		assert.Equal(t, "openstack-small-cluster-1.0.0", o.GetLabels()[InfrastructureProfileLabel])
		assert.Equal(t, "calico-v1-1.0.0", o.GetLabels()[NetworkProfileLabel])
	}
	assert.Equal(t, "kr-seoul", cluster.GetLabels()["automation.dcn.ssu.ac.kr/region"])

	// The add-ons select the CAPI Cluster by the labels the render put on it.
	crs := find(t, res, "ClusterResourceSet", "")
	hcp := find(t, res, "HelmChartProxy", "")
	for _, addon := range []*unstructured.Unstructured{crs, hcp} {
		sel := nested(t, addon, "spec", "clusterSelector", "matchLabels").(map[string]any)
		require.Len(t, sel, 1)
		for k, v := range sel {
			assert.Equal(t, v, cluster.GetLabels()[k], "%s selects the cluster", addon.GetKind())
		}
	}
	assert.Equal(t, "prometheus", nested(t, hcp, "spec", "chartName"))
	assert.Equal(t, "2.41.0", nested(t, hcp, "spec", "version"))
	assert.Equal(t, "monitoring", nested(t, hcp, "spec", "namespace"))
	cm := find(t, res, "ConfigMap", "")
	assert.Contains(t, nested(t, cm, "data", "calico.yaml"), "calico-system")
}

func TestInMemoryClusterRenders(t *testing.T) {
	res, out := renderTwice(t, func() *resolve.Plan { return inMemoryPlan(1) }, Options{Root: repoRoot(t)})
	golden(t, "inmemory-cluster", out)

	devCluster := find(t, res, "DevCluster", "")
	assert.Equal(t, map[string]any{}, nested(t, devCluster, "spec", "backend", "inMemory"))
	kcp := find(t, res, "KubeadmControlPlane", "")
	assert.Equal(t, int64(3), nested(t, kcp, "spec", "replicas"))
	assert.Equal(t, "v1.34.1", nested(t, kcp, "spec", "version"))
	cp := find(t, res, "DevMachineTemplate", "control-plane")
	assert.Equal(t, "3s", nested(t, cp, "spec", "template", "spec", "backend", "inMemory", "vm", "provisioning", "startupDuration"),
		"vmStartupDuration reaches the template through its alias")
	assert.Equal(t, "mec-cluster", kcp.GetLabels()[LogicalClusterLabel])
	md := find(t, res, "MachineDeployment", "")
	assert.Equal(t, int64(2), nested(t, md, "spec", "replicas"))
}

func TestTopologyClusterRenders(t *testing.T) {
	res, out := renderTwice(t, topologyPlan, Options{})
	golden(t, "topology-cluster", out)

	require.Equal(t, []string{"Cluster/core-5g", "HelmChartProxy/" + find(t, res, "HelmChartProxy", "").GetName()}, names(res))
	c := res.Objects[0]
	assert.Equal(t, "cluster.x-k8s.io/v1beta2", c.GetAPIVersion())
	assert.Equal(t, "in-memory", nested(t, c, "spec", "topology", "classRef", "name"))
	assert.Equal(t, "default", nested(t, c, "spec", "topology", "classRef", "namespace"))
	assert.Equal(t, "v1.34.1", nested(t, c, "spec", "topology", "version"))
	assert.Equal(t, int64(3), nested(t, c, "spec", "topology", "controlPlane", "replicas"))
	assert.Equal(t, []any{map[string]any{"class": "default-worker", "name": "md-0", "replicas": int64(4)}},
		nested(t, c, "spec", "topology", "workers", "machineDeployments"))
	assert.Equal(t, []any{
		map[string]any{"name": "etcdConfig", "value": map[string]any{"quotaBackendBytes": int64(8589934592)}},
		map[string]any{"name": "imageRepository", "value": "registry.k8s.io"},
	}, nested(t, c, "spec", "topology", "variables"))
	assert.Equal(t, []any{"192.168.0.0/16"}, nested(t, c, "spec", "clusterNetwork", "pods", "cidrBlocks"))
}
