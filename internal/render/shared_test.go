package render

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/internal/resolve"
)

// sharedTemplate's maps without a variable are what the render changes after decoding: the
// Cluster's clusterNetwork (the plan's CIDRs), the MachineDeployment's spec (autoscaling
// takes replicas off) and spec.template.spec (a workers' version apart), and its reference to
// a machine template of a constant name (renamed by the template's content, which differs per
// cluster). Written into in place, they would change every other cluster's objects.
const sharedTemplate = `apiVersion: cluster.x-k8s.io/v1beta2
kind: Cluster
metadata:
  name: ${CLUSTER_NAME}
spec:
  clusterNetwork:
    serviceDomain: cluster.local
  infrastructureRef: {apiGroup: infrastructure.cluster.x-k8s.io, kind: DevCluster, name: "${CLUSTER_NAME}"}
---
apiVersion: infrastructure.cluster.x-k8s.io/v1beta2
kind: DevMachineTemplate
metadata:
  name: workers
spec:
  template:
    spec:
      image: kindest/node:${KUBERNETES_VERSION}
---
apiVersion: cluster.x-k8s.io/v1beta2
kind: MachineDeployment
metadata:
  name: ${CLUSTER_NAME}-md-0
  labels: {tier: workers}
spec:
  replicas: 2
  template:
    spec:
      version: v1.30.0
      infrastructureRef: {apiGroup: infrastructure.cluster.x-k8s.io, kind: DevMachineTemplate, name: workers}
`

// sharedRenderPlans are clusters that take every branch that changes a template's objects
// after decoding (network CIDRs, a workers' version apart, an autoscaled worker range,
// machine templates renamed by content, the add-ons' namespace), in several namespaces, over
// the example templates and sharedTemplate.
func sharedRenderPlans() []*resolve.Plan {
	var plans []*resolve.Plan
	for i := range 12 {
		ns := fmt.Sprintf("tenant-%d", i%3)
		p := inMemoryPlan(i)
		p.Namespace = ns
		switch i % 4 {
		case 1:
			p.WorkerKubernetesVersion = "v1.33.4"
		case 2:
			p.WorkerAutoscaling = &resolve.WorkerRange{Min: 1, Max: 5}
		case 3:
			p.Network = nil // the template's own CIDRs
			p.PodCIDRs, p.ServiceCIDRs = nil, nil
		}
		plans = append(plans, p)

		o := seedClusterSamplePlan()
		o.Name, o.Namespace = fmt.Sprintf("os-%02d", i), ns
		if i%2 == 1 {
			o.WorkerKubernetesVersion = "v1.24.9"
		}
		plans = append(plans, o)

		s := inMemoryPlan(i)
		s.Name, s.Namespace = fmt.Sprintf("shared-%02d", i), ns
		s.Infrastructure.Template = &automationv1alpha1.TemplateSource{Path: "shared-template.yaml"}
		s.KubernetesVersion = fmt.Sprintf("v1.30.%d", i)
		s.PodCIDRs = []string{fmt.Sprintf("10.%d.0.0/16", i)}
		switch i % 3 {
		case 1:
			s.WorkerKubernetesVersion = fmt.Sprintf("v1.29.%d", i)
		case 2:
			s.WorkerAutoscaling = &resolve.WorkerRange{Min: 1, Max: int32(2 + i)}
		}
		plans = append(plans, s)
	}
	return plans
}

func renderedYAML(t *testing.T, res *Result) string {
	t.Helper()
	b, err := res.YAML()
	require.NoError(t, err)
	return string(b)
}

// sharedRenderRoot is a repository with the example templates and sharedTemplate.
func sharedRenderRoot(t *testing.T) string {
	root := t.TempDir()
	for _, p := range []string{inMemoryTemplatePath, openstackTemplatePath, calicoManifestPath} {
		b, err := os.ReadFile(filepath.Join(repoRoot(t), p))
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(root, p), b, 0o644))
	}
	require.NoError(t, os.WriteFile(filepath.Join(root, "shared-template.yaml"), []byte(sharedTemplate), 0o644))
	return root
}

// A Renderer's objects share what their template's skeleton holds without a variable, and
// the render writes only into what each object owns: each object is what a Renderer of its
// own (which shares nothing) gives, rendering more clusters, one after another or at once,
// changes none already rendered (under -race, a write into a shared map while another render
// reads it is a race), and writing into one object's own parts (its top-level map and
// metadata) changes no other object.
func TestRendersShareOnlyWhatNoneWrites(t *testing.T) {
	root := sharedRenderRoot(t)
	opts := Options{Root: root, Variables: openstackFleetVariables()}
	plans := sharedRenderPlans()
	want := make([]string, len(plans))
	for i, p := range plans {
		alone, err := NewRenderer(opts).Render(p)
		require.NoError(t, err, p.Name)
		want[i] = renderedYAML(t, alone)
	}

	r := NewRenderer(opts)
	results := make([]*Result, len(plans))
	for i, p := range plans[:len(plans)/2] {
		res, err := r.Render(p)
		require.NoError(t, err, p.Name)
		results[i] = res
		require.Equal(t, want[i], renderedYAML(t, res), "%s: the shared render differs from one of its own", p.Name)
	}
	var wg sync.WaitGroup
	for i := len(plans) / 2; i < len(plans); i++ {
		wg.Go(func() {
			res, err := r.Render(plans[i])
			if err == nil {
				results[i] = res
				_, _ = res.YAML() // reads what the other renders would write into, if they did
			}
		})
	}
	wg.Wait()
	for i, res := range results {
		require.NotNil(t, res, plans[i].Name)
		require.Equal(t, want[i], renderedYAML(t, res), "%s: differs from a render of its own, or changed when other clusters were rendered", plans[i].Name)
	}

	// The test means something only if objects do share: the bootstrap templates' specs,
	// which hold no variable, are one map in every in-memory cluster, and the machine
	// deployment's template spec of sharedTemplate is one where nothing changes it.
	spec := func(res *Result, kind string) map[string]any {
		for _, o := range res.Objects {
			if o.GetKind() == kind {
				return o.Object["spec"].(map[string]any)
			}
		}
		t.Fatalf("no %s in %s", kind, res.Name)
		return nil
	}
	require.Equal(t, mapID(spec(results[6], "KubeadmConfigTemplate")), mapID(spec(results[12], "KubeadmConfigTemplate")),
		"the in-memory clusters' bootstrap templates share no spec: the fast path was not taken")

	// What an object owns may be written by its holder: its top-level map and metadata's
	// fields, its labels and annotations replaced (as SetLabels does). Not even the same
	// cluster's other objects change.
	rest := &Result{Objects: results[9].Objects[1:]}
	restYAML := renderedYAML(t, rest)
	writeOwn := func(o *unstructured.Unstructured) {
		md := o.Object["metadata"].(map[string]any)
		md["name"], md["namespace"] = "changed", "changed"
		o.SetLabels(map[string]string{"replaced": "yes"})
		o.SetAnnotations(map[string]string{"replaced": "yes"})
		o.SetOwnerReferences([]metav1.OwnerReference{{Name: "owner"}})
		o.Object["extra"] = "yes"
	}
	writeOwn(results[9].Objects[0])
	require.Equal(t, restYAML, renderedYAML(t, rest), "writing one object's own parts changed another of its cluster")
	for _, o := range results[6].Objects {
		writeOwn(o)
	}
	for i, res := range results {
		if i != 6 && i != 9 {
			require.Equal(t, want[i], renderedYAML(t, res), "%s changed when another cluster's metadata was written", plans[i].Name)
		}
	}
}

// ownedMap and own copy shared maps only, and ownedMap takes and refuses the paths
// unstructured.SetNestedField does.
func TestOwnedMapCopiesOnlySharedMaps(t *testing.T) {
	sharedSpec := map[string]any{"template": map[string]any{"spec": map[string]any{"version": "v1"}}, "replicas": int64(1)}
	shared := newSharedMaps()
	shared.add(newSlotMap(map[string]any{"spec": sharedSpec}))

	obj := map[string]any{"spec": sharedSpec}
	m, ok := shared.ownedMap(obj, "spec", "template", "spec")
	require.True(t, ok)
	m["version"] = "v2"
	require.Equal(t, "v1", sharedSpec["template"].(map[string]any)["spec"].(map[string]any)["version"], "a shared map was written")
	require.Equal(t, "v2", obj["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["version"])

	// Maps the object owns already are written in place.
	owned := obj["spec"].(map[string]any)
	again, ok := shared.ownedMap(obj, "spec")
	require.True(t, ok)
	require.Equal(t, mapID(owned), mapID(again))

	// Paths through a value that is not a map are refused, as SetNestedField refuses them.
	for _, fields := range [][]string{{"spec", "replicas", "x"}, {"spec", "template", "spec", "version", "x"}, {"spec", "new", "deeper"}} {
		a := map[string]any{"spec": sharedSpec}
		b := runtimeDeepCopy(a)
		_, okOwned := shared.ownedMap(a, fields...)
		errSet := unstructured.SetNestedField(b, "x", fields...)
		require.Equal(t, errSet == nil, okOwned, "%v", fields)
	}
}

func runtimeDeepCopy(m map[string]any) map[string]any {
	return (&unstructured.Unstructured{Object: m}).DeepCopy().Object
}

// The remembered add-on IDs are addonID's, and valuesKey tells apart values whose parts
// would run together in a plainer form.
func TestAddonIDMemoryKeepsValuesApart(t *testing.T) {
	values := []any{
		nil, true, false, "", "a", "ab", int64(1), float64(1), float64(1.5), int64(-1), float64(0), math.Copysign(0, -1),
		[]any{}, []any{"a"}, []any{"a", "b"}, []any{"ab"}, []any{[]any{"a"}, "b"},
		map[string]any{}, map[string]any{"a": "b"}, map[string]any{"ab": ""}, map[string]any{"a": "", "b": ""},
		map[string]any{"a": map[string]any{"b": "c"}}, map[string]any{"a": []any{"b", "c"}}, map[string]any{"a": nil},
		map[string]any{"chart": map[string]any{"name": "app", "version": "1.0.0"}, "values": map[string]any{"replicas": int64(2)}},
	}
	r := NewRenderer(Options{})
	keys := map[string]int{}
	for round := range 2 { // the second round answers from memory
		for i, v := range values {
			p := resolve.ResolvedProfile{Key: key("default", "p", automationv1alpha1.SoftwareProfileType, "1.0.0"),
				Values: map[string]any{"v": v}}
			require.Equal(t, addonID(roleSoftware, "app", p), r.addonID(roleSoftware, "app", p), "%#v", v)
			var b strings.Builder
			require.True(t, valuesKey(&b, v), "%#v", v)
			if j, seen := keys[b.String()]; seen && round == 0 {
				t.Fatalf("%#v and %#v have one key %q", values[j], v, b.String())
			}
			keys[b.String()] = i
		}
	}
	require.Len(t, r.addonIDs, len(values))
}
