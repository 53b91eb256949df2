package controllers_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/controllers"
)

// A worker change gives the machine template a new content name; the old one is deleted once
// the new one is applied. Afterwards a pass over the unchanged cluster writes nothing.
func TestClusterFlavourChangeAndSteadyState(t *testing.T) {
	ctx := context.Background()
	ns := clusterFixture(t)
	c := newCluster(t, ns, "flavour")
	waitCluster(t, c, "applied", func(c *automationv1alpha1.Cluster) bool { return c.Status.AppliedRenderHash != "" })
	before := templateNames(t, ns)
	require.Len(t, before, 2)

	var list automationv1alpha1.InfrastructureProfileList
	require.NoError(t, env.Client.List(ctx, &list))
	for i := range list.Items {
		p := &list.Items[i]
		if p.Namespace == ns && p.Spec.Type == automationv1alpha1.InfrastructureProfileType {
			p.Spec.Values.Raw = []byte(strings.Replace(string(p.Spec.Values.Raw), "}", `,"nodeStartupDuration":"2s"}`, 1))
			require.NoError(t, env.Client.Update(ctx, p))
		}
	}
	assert.Eventually(t, func() bool {
		after := templateNames(t, ns)
		return len(after) == 2 && after[0] != before[0] && after[1] != before[1]
	}, defaultWait, tick, "new templates replace the old ones")

	// Steady state: a pass (woken by an annotation no one reads) writes nothing, neither the
	// cluster nor anything it applied. The template swap's own follow-up passes may still be
	// running, so the first poke that writes nothing marks the steady state; two more must
	// write nothing either.
	assert.Eventually(t, func() bool { return pokeWritesNothing(t, c, "settle") }, defaultWait, tick, "the cluster settles")
	for _, poke := range []string{"1", "2"} {
		assert.True(t, pokeWritesNothing(t, c, poke), "a pass over the unchanged cluster writes nothing (poke %s)", poke)
	}
}

// pokeWritesNothing updates an annotation nobody reads, waits for the Cluster controller's
// next pass in the namespace, and says whether that pass left the cluster and every object it
// applied as they were.
func pokeWritesNothing(t *testing.T, c *automationv1alpha1.Cluster, value string) bool {
	t.Helper()
	ctx := context.Background()
	got := lkCluster(t, c)
	if got.Annotations[controllers.AppliedObjectsAnnotation] == "" {
		return false // the first apply's record is not written yet: not steady yet
	}
	passes := clusterPasses(t, c.Namespace)
	objects := appliedVersions(t, got)
	if got.Annotations == nil {
		got.Annotations = map[string]string{}
	}
	got.Annotations["example.com/poke"] = value + "-" + time.Now().Format(time.RFC3339Nano)
	if err := env.Client.Update(ctx, got); err != nil {
		return false // a write of the controller's came first: not steady yet
	}
	require.Eventually(t, func() bool { return clusterPasses(t, c.Namespace) > passes }, defaultWait, tick, "a pass after the poke")
	after := lkCluster(t, c)
	return after.ResourceVersion == got.ResourceVersion && assert.ObjectsAreEqual(objects, appliedVersions(t, after))
}

// clusterPasses counts the Cluster controller's passes over a namespace.
func clusterPasses(t *testing.T, ns string) float64 {
	var n float64
	for _, s := range samples(t, metrics.Registry, "lkaas_cluster_reconcile_duration_seconds", map[string]string{"namespace": ns}) {
		n += s.value
	}
	return n
}

// appliedVersions maps each object the cluster applied to its resourceVersion.
func appliedVersions(t *testing.T, c *automationv1alpha1.Cluster) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, ref := range appliedObjects(t, c) {
		m, _ := ref.(map[string]any)
		u := &unstructured.Unstructured{}
		apiVersion, _ := m["apiVersion"].(string)
		kind, _ := m["kind"].(string)
		name, _ := m["name"].(string)
		u.SetAPIVersion(apiVersion)
		u.SetKind(kind)
		key := kind + "/" + name
		if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: c.Namespace, Name: name}, u); err != nil {
			out[key] = err.Error()
			continue
		}
		out[key] = u.GetResourceVersion()
	}
	return out
}

func templateNames(t *testing.T, ns string) []string {
	var names []string
	for _, u := range listCAPI(t, ns, "infrastructure.cluster.x-k8s.io/v1beta2", "DevMachineTemplate") {
		names = append(names, u.GetName())
	}
	return names
}
