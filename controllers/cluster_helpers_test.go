package controllers_test

import (
	"context"
	"os"
	"sync/atomic"
	"testing"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/internal/repofiles"
)

const calicoManifest = `apiVersion: v1
kind: ConfigMap
metadata:
  name: calico-config
  namespace: kube-system
data:
  cni: calico
`

// clusterFixture publishes the in-memory template and a calico manifest in a files ConfigMap
// (as the Fleet controller would), an Infrastructure profile and a Network profile.
func clusterFixture(t testing.TB) string {
	t.Helper()
	ns := env.Namespace(t)
	tmpl, err := os.ReadFile("../gitops-examples/fleet-repo/templates/docker-inmemory/cluster-template.yaml")
	require.NoError(t, err)
	cm, err := repofiles.ConfigMap(types.NamespacedName{Namespace: ns, Name: "fleet"}, map[string][]byte{
		"templates/inmemory.yaml": tmpl,
		"addons/calico.yaml":      []byte(calicoManifest),
	})
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, env.Client.Create(ctx, cm))
	createProfile(t, ns, "inmemory", automationv1alpha1.InfrastructureProfileType, "1.0.0",
		&automationv1alpha1.TemplateSource{Path: "templates/inmemory.yaml"},
		`{"kubernetesVersion":"v1.34.1","controlPlaneMachineCount":1,"workerMachineCount":2}`)
	createProfile(t, ns, "calico", automationv1alpha1.NetworkProfileType, "1.0.0", nil,
		`{"cni":"calico","podCIDR":["10.96.0.0/12"],"manifests":["addons/calico.yaml"]}`)
	return ns
}

func createProfile(t testing.TB, ns, name string, typ automationv1alpha1.ProfileType, rev string, tmpl *automationv1alpha1.TemplateSource, values string) {
	t.Helper()
	p := &automationv1alpha1.InfrastructureProfile{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-" + string(typ) + "-" + rev},
		Spec: automationv1alpha1.InfrastructureProfileSpec{ProfileName: name, Type: typ, Revision: rev, Template: tmpl,
			Values: &apiextensionsv1.JSON{Raw: []byte(values)}},
	}
	p.Name = toLowerDNS(p.Name)
	require.NoError(t, env.Client.Create(context.Background(), p))
}

func toLowerDNS(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 'A' && c <= 'Z':
			b[i] = c + 'a' - 'A'
		case c == '.':
			b[i] = '-'
		}
	}
	return string(b)
}

// newCluster creates an L-KaaS Cluster with the fixture's recipe and an optional override.
func newCluster(t testing.TB, ns, name string, mutate ...func(*automationv1alpha1.Cluster)) *automationv1alpha1.Cluster {
	t.Helper()
	c := &automationv1alpha1.Cluster{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: automationv1alpha1.ClusterSpec{ClusterRecipe: automationv1alpha1.ClusterRecipe{
			Infrastructure: &automationv1alpha1.InfrastructureRecipe{Provider: "docker",
				Profile: automationv1alpha1.ProfileReference{Name: "inmemory", Type: automationv1alpha1.InfrastructureProfileType, Revision: "1.0.0"}},
			Network: &automationv1alpha1.AddonRecipe{Name: "calico",
				Profile: automationv1alpha1.ProfileReference{Name: "calico", Type: automationv1alpha1.NetworkProfileType, Revision: "1.0.0"}},
		}},
	}
	for _, m := range mutate {
		m(c)
	}
	require.NoError(t, env.Client.Create(context.Background(), c))
	return c
}

func lkCluster(t *testing.T, c *automationv1alpha1.Cluster) *automationv1alpha1.Cluster {
	t.Helper()
	got := &automationv1alpha1.Cluster{}
	require.NoError(t, env.Client.Get(context.Background(), client.ObjectKeyFromObject(c), got))
	return got
}

// waitCluster waits until the cluster satisfies ok and returns it.
func waitCluster(t *testing.T, c *automationv1alpha1.Cluster, what string, ok func(*automationv1alpha1.Cluster) bool) *automationv1alpha1.Cluster {
	t.Helper()
	// Eventually's condition runs on its own goroutine and may still run after it gave up.
	var last atomic.Pointer[automationv1alpha1.Cluster]
	if !assert.Eventually(t, func() bool {
		got := &automationv1alpha1.Cluster{}
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(c), got); err != nil {
			return false
		}
		last.Store(got)
		return ok(got)
	}, defaultWait, tick) {
		got := last.Load()
		if got == nil {
			t.Fatalf("cluster %s never %s; never read", c.Name, what)
		}
		t.Fatalf("cluster %s never %s; finalizers %v, status: %+v", c.Name, what, got.Finalizers, got.Status)
	}
	return last.Load()
}

func inPhase(p automationv1alpha1.ClusterPhase) func(*automationv1alpha1.Cluster) bool {
	return func(c *automationv1alpha1.Cluster) bool { return c.Status.Phase == p }
}

func readyStatus(c *automationv1alpha1.Cluster) metav1.ConditionStatus {
	if cond := conditions.Get(c, meta.ReadyCondition); cond != nil {
		return cond.Status
	}
	return metav1.ConditionUnknown
}

func capiObject(t *testing.T, ns, apiVersion, kind, name string) (*unstructured.Unstructured, error) {
	t.Helper()
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, u)
	return u, err
}

func listCAPI(t *testing.T, ns, apiVersion, kind string) []unstructured.Unstructured {
	t.Helper()
	var l unstructured.UnstructuredList
	l.SetAPIVersion(apiVersion)
	l.SetKind(kind + "List")
	require.NoError(t, env.Client.List(context.Background(), &l, client.InNamespace(ns)))
	return l.Items
}

// setCAPIConditions sets the CAPI Cluster's status conditions, as CAPI's controllers would.
func setCAPIConditions(t *testing.T, ns, name string, conds map[string]metav1.ConditionStatus) {
	t.Helper()
	require.Eventually(t, func() bool {
		u, err := capiObject(t, ns, "cluster.x-k8s.io/v1beta2", "Cluster", name)
		if err != nil {
			return false
		}
		var list []any
		for _, typ := range []string{"InfrastructureReady", "ControlPlaneInitialized", "ControlPlaneAvailable", "WorkersAvailable", "Available", "RollingOut"} {
			st, ok := conds[typ]
			if !ok {
				continue
			}
			list = append(list, map[string]any{"type": typ, "status": string(st), "reason": "Test", "message": typ + " set by the test",
				"lastTransitionTime": metav1.Now().UTC().Format("2006-01-02T15:04:05Z"), "observedGeneration": u.GetGeneration()})
		}
		_ = unstructured.SetNestedSlice(u.Object, list, "status", "conditions")
		err = env.Client.Status().Update(context.Background(), u)
		if err != nil {
			t.Log(err)
		}
		return err == nil
	}, defaultWait, tick)
}

// setStatusField sets one status field of a CAPI object.
func setStatusField(t *testing.T, ns, apiVersion, kind, name string, value any, fields ...string) {
	t.Helper()
	require.Eventually(t, func() bool {
		u, err := capiObject(t, ns, apiVersion, kind, name)
		if err != nil {
			return false
		}
		_ = unstructured.SetNestedField(u.Object, value, append([]string{"status"}, fields...)...)
		return env.Client.Status().Update(context.Background(), u) == nil
	}, defaultWait, tick)
}

func unstructuredOf(m map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: m}
}
