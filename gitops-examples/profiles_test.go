package examples

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dcn-ssu/lkaas/internal/fleetrepo"
	"github.com/dcn-ssu/lkaas/internal/plane"
	"github.com/dcn-ssu/lkaas/internal/render"
	"github.com/dcn-ssu/lkaas/internal/testenv"
)

const telcoEdge = "starlab/daejeon-upf-cluster"

// buildTelcoEdge builds the example fleet repository with the telco-edge cluster added, as
// `lkaas validate` would.
func buildTelcoEdge(t *testing.T) *fleetrepo.Build {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.CopyFS(dir, os.DirFS("fleet-repo")))
	example, err := os.ReadFile("telco-edge/telco-edge.yaml")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tenants", "starlab", "telco-edge.yaml"), example, 0o644))
	build, err := fleetrepo.BuildDir(context.Background(), dir, fleetrepo.Options{Render: true,
		Variables: map[string]string{"OPENSTACK_CLOUD_YAML_B64": "Y2xvdWRzOiB7fQo="}})
	require.NoError(t, err)
	require.Contains(t, build.Rendered, telcoEdge)
	return build
}

// renderedByAddon finds the telco-edge cluster's objects of a selecting kind
// (ClusterResourceSet, HelmChartProxy), keyed by the add-on they install.
func renderedByAddon(t *testing.T, build *fleetrepo.Build, kind string) map[string]*unstructured.Unstructured {
	t.Helper()
	out := map[string]*unstructured.Unstructured{}
	for _, o := range build.Rendered[telcoEdge] {
		if o.GetKind() != kind {
			continue
		}
		sel, _, _ := unstructured.NestedStringMap(o.Object, "spec", "clusterSelector", "matchLabels")
		for k := range sel {
			out[strings.TrimPrefix(k, render.AddonLabelPrefix)] = o
		}
	}
	return out
}

// The profiles for the comparison table's networking and storage rows validate and render
// into what delivers them: Multus and its networks by a ClusterResourceSet next to the
// primary CNI's values, the CSI driver by a HelmChartProxy and the default StorageClass by a
// ClusterResourceSet, Istio's base, istiod and gateway by three HelmChartProxies; the pool is
// the autoscaler's.
func TestTelcoEdgeProfilesRender(t *testing.T) {
	build := buildTelcoEdge(t)
	plan := build.Plans[0]
	for _, p := range build.Plans {
		if p.Namespace+"/"+p.Name == telcoEdge {
			plan = p
		}
	}
	assert.Equal(t, "calico", plan.Network.Profile.Values["cni"], "Multus rides on the primary CNI's profile")
	assert.Equal(t, []string{"10.96.0.0/12"}, plan.PodCIDRs)

	crs := renderedByAddon(t, build, "ClusterResourceSet")
	hcp := renderedByAddon(t, build, "HelmChartProxy")
	require.Contains(t, crs, "multus")
	require.Contains(t, crs, "storage")
	assert.Len(t, crs, 2)

	files := map[string]string{}
	for _, o := range build.Rendered[telcoEdge] {
		if o.GetKind() == "ConfigMap" {
			data, _, _ := unstructured.NestedStringMap(o.Object, "data")
			for k, v := range data {
				files[k] = v
			}
		}
	}
	assert.Contains(t, files["multus.yaml"], "kind: DaemonSet")
	assert.Contains(t, files["networks.yaml"], "kind: NetworkAttachmentDefinition")
	assert.Contains(t, files["default-storageclass.yaml"], `storageclass.kubernetes.io/is-default-class: "true"`)

	charts := map[string]string{}
	for addon, o := range hcp {
		name, _, _ := unstructured.NestedString(o.Object, "spec", "chartName")
		charts[addon] = name
	}
	assert.Equal(t, map[string]string{"storage": "openstack-cinder-csi", "istio-base": "base", "istiod": "istiod", "istio-gateway": "gateway"}, charts)
	values, _, _ := unstructured.NestedString(hcp["storage"].Object, "spec", "valuesTemplate")
	assert.Contains(t, values, "enabled: false", "the chart's own StorageClasses are off: one default")

	require.NotNil(t, plan.WorkerAutoscaling)
	for _, o := range build.Rendered[telcoEdge] {
		if o.GetKind() == "MachineDeployment" {
			assert.Equal(t, "2", o.GetAnnotations()[render.AutoscalerMinSizeAnnotation])
			assert.Equal(t, "6", o.GetAnnotations()[render.AutoscalerMaxSizeAnnotation])
		}
	}
}

// What the telco-edge cluster renders into the management cluster passes a server-side dry
// run against the real Cluster API, CAPD and add-on CRDs; the manifests its
// ClusterResourceSets carry to the workload cluster (Multus with its NetworkAttachmentDefinition
// kind, the networks, the StorageClass) pass one too, on the same API server, once the
// manifest's own CRD is installed. Istio arrives by Helm charts: no Istio object is rendered.
func TestTelcoEdgeObjectsPassDryRun(t *testing.T) {
	build := buildTelcoEdge(t)
	env, err := testenv.Start(plane.WithClusterAPICRDs(), plane.WithCAPDCRDs(), plane.WithHelmAddonCRDs())
	require.NoError(t, err)
	t.Cleanup(func() { _ = env.Stop() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	strict := client.FieldValidation("Strict")

	ns := env.Namespace(t)
	var manifests []*unstructured.Unstructured
	for _, o := range build.Rendered[telcoEdge] {
		obj := o.DeepCopy()
		obj.SetNamespace(ns)
		assert.NoError(t, env.Client.Create(ctx, obj, client.DryRunAll, strict), "%s/%s", o.GetKind(), o.GetName())
		if o.GetKind() == "ConfigMap" {
			data, _, _ := unstructured.NestedStringMap(o.Object, "data")
			for _, v := range data {
				manifests = append(manifests, decodeAll(t, v)...)
			}
		}
	}

	// The workload cluster's side: its CRD first (for real: a dry run creates nothing), and
	// the namespaces the manifests create, then every object.
	kinds := map[string]int{}
	for _, o := range manifests {
		switch o.GetKind() {
		case "CustomResourceDefinition":
			require.NoError(t, env.Client.Create(ctx, o.DeepCopy()))
			waitEstablished(ctx, t, env, o.GetName())
		case "Namespace":
			require.NoError(t, client.IgnoreAlreadyExists(env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: o.GetName()}})))
		}
	}
	for _, o := range manifests {
		if o.GetKind() == "CustomResourceDefinition" || o.GetKind() == "Namespace" {
			kinds[o.GetKind()]++
			continue
		}
		assert.NoError(t, env.Client.Create(ctx, o.DeepCopy(), client.DryRunAll, strict), "%s %s/%s", o.GetKind(), o.GetNamespace(), o.GetName())
		kinds[o.GetKind()]++
	}
	assert.Equal(t, map[string]int{"CustomResourceDefinition": 1, "Namespace": 1, "ServiceAccount": 1, "ClusterRole": 1,
		"ClusterRoleBinding": 1, "ConfigMap": 1, "DaemonSet": 1, "NetworkAttachmentDefinition": 2, "StorageClass": 1}, kinds)
}

func decodeAll(t *testing.T, text string) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(text), 4096)
	for {
		u := &unstructured.Unstructured{}
		err := dec.Decode(&u.Object)
		if errors.Is(err, io.EOF) {
			return out
		}
		require.NoError(t, err)
		if len(u.Object) > 0 {
			out = append(out, u)
		}
	}
}

func waitEstablished(ctx context.Context, t *testing.T, env *testenv.Env, name string) {
	t.Helper()
	require.NoError(t, wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := env.Client.Get(ctx, client.ObjectKey{Name: name}, crd); err != nil {
			return false, nil
		}
		for _, c := range crd.Status.Conditions {
			if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	}))
	// The client's REST mapper learns the new kind on its next miss.
	require.NoError(t, wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		list := &unstructured.UnstructuredList{}
		list.SetAPIVersion("k8s.cni.cncf.io/v1")
		list.SetKind("NetworkAttachmentDefinitionList")
		return env.Client.List(ctx, list) == nil, nil
	}))
}
