package controllers_test

import (
	"context"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/internal/apply"
)

// A change to a Secret or ConfigMap that the cluster's Fleet names in variablesFrom re-renders
// the cluster: the template variable's new value reaches the CAPI objects without any other
// change (the machine templates, content-named, are replaced).
func TestClusterVariablesFromChange(t *testing.T) {
	const variable = "IN_MEMORY_VM_STARTUP_DURATION" // a template variable no profile sets
	cases := []struct {
		kind   string
		object func(ns, value string) client.Object
		set    func(o client.Object, value string)
	}{{
		kind: "Secret",
		object: func(ns, value string) client.Object {
			return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "variables"},
				Data: map[string][]byte{variable: []byte(value)}}
		},
		set: func(o client.Object, value string) { o.(*corev1.Secret).Data[variable] = []byte(value) },
	}, {
		kind: "ConfigMap",
		object: func(ns, value string) client.Object {
			return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "variables"},
				Data: map[string]string{variable: value}}
		},
		set: func(o client.Object, value string) { o.(*corev1.ConfigMap).Data[variable] = value },
	}}
	for _, tc := range cases {
		t.Run(tc.kind, func(t *testing.T) {
			ctx := context.Background()
			ns := clusterFixture(t)
			vars := tc.object(ns, "7s")
			require.NoError(t, env.Client.Create(ctx, vars))
			// A Fleet with no artifact yet: the Fleet controller applies nothing, the Cluster
			// controller still reads its variablesFrom for the clusters that carry its labels.
			newFleet(t, newRepo(t, ns, "fleet-repo"), func(f *automationv1alpha1.Fleet) {
				f.Spec.VariablesFrom = []automationv1alpha1.VariablesReference{{Kind: tc.kind, Name: "variables"}}
			})
			c := newCluster(t, ns, "vars", func(c *automationv1alpha1.Cluster) {
				c.Labels = map[string]string{apply.FleetNameLabel: "fleet", apply.FleetNamespaceLabel: ns}
			})
			c = waitCluster(t, c, "applied", func(c *automationv1alpha1.Cluster) bool { return c.Status.AppliedRenderHash != "" })
			require.Equal(t, []string{"7s", "7s"}, vmStartupDurations(t, ns), "control plane and workers")
			before := c.Status.AppliedRenderHash

			require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(vars), vars))
			tc.set(vars, "9s")
			require.NoError(t, env.Client.Update(ctx, vars))
			assert.Eventually(t, func() bool {
				return slices.Equal(vmStartupDurations(t, ns), []string{"9s", "9s"})
			}, defaultWait, tick, "the new value is rendered and the old template pruned")
			waitCluster(t, c, "applied again", func(c *automationv1alpha1.Cluster) bool {
				return c.Status.AppliedRenderHash != before && c.Status.AppliedRenderHash == c.Status.RenderHash
			})
		})
	}
}

// vmStartupDurations lists the VM startup durations of the namespace's machine templates that
// set one.
func vmStartupDurations(t *testing.T, ns string) []string {
	t.Helper()
	var out []string
	for _, u := range listCAPI(t, ns, "infrastructure.cluster.x-k8s.io/v1beta2", "DevMachineTemplate") {
		d, ok, _ := unstructured.NestedString(u.Object, "spec", "template", "spec", "backend", "inMemory", "vm", "provisioning", "startupDuration")
		if ok && u.GetDeletionTimestamp() == nil {
			out = append(out, d)
		}
	}
	return out
}
