package apply

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
)

func TestHashIsOfContentNotOfRevision(t *testing.T) {
	a := New(env.Client, env.Client, Options{Fleet: types.NamespacedName{Namespace: "ns", Name: "fleet"}})
	hashOf := func(obj client.Object, revision string) string {
		o, err := a.prepare(obj, revision, shardStamp{fleet: true})
		require.NoError(t, err)
		return o.hash
	}
	base := hashOf(cluster("ns", "c1", 3), "r1")

	withStatus := cluster("ns", "c1", 3)
	withStatus.Status.Phase = automationv1alpha1.ClusterPhaseReady
	withStatus.ResourceVersion, withStatus.UID = "42", "uid"

	relabelled := cluster("ns", "c1", 3)
	relabelled.Labels["tier"] = "gold"
	annotated := cluster("ns", "c1", 3)
	annotated.Annotations = map[string]string{"note": "x"}

	cases := []struct {
		name string
		obj  client.Object
		rev  string
		same bool
	}{
		{name: "same object, same revision", obj: cluster("ns", "c1", 3), rev: "r1", same: true},
		{name: "another revision", obj: cluster("ns", "c1", 3), rev: "r2", same: true},
		{name: "no revision", obj: cluster("ns", "c1", 3), rev: "", same: true},
		{name: "status and server metadata", obj: withStatus, rev: "r1", same: true},
		{name: "the same object unstructured", obj: asUnstructured(t, cluster("ns", "c1", 3)), rev: "r1", same: true},
		{name: "the same object hand-built", obj: handBuilt(), rev: "r1", same: true},
		{name: "a spec value", obj: cluster("ns", "c1", 4), rev: "r1"},
		{name: "a label", obj: relabelled, rev: "r1"},
		{name: "an annotation", obj: annotated, rev: "r1"},
		{name: "the name", obj: cluster("ns", "c9", 3), rev: "r1"},
		{name: "the namespace", obj: cluster("other", "c1", 3), rev: "r1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := hashOf(tc.obj, tc.rev)
			assert.Len(t, got, hashLength)
			if tc.same {
				assert.Equal(t, base, got)
			} else {
				assert.NotEqual(t, base, got)
			}
		})
	}
}

func TestPrepareStampsWithoutTouchingTheCallersObject(t *testing.T) {
	a := New(env.Client, env.Client, Options{Fleet: types.NamespacedName{Namespace: "ns", Name: "fleet"}})
	for _, obj := range []client.Object{cluster("ns", "c1", 3), asUnstructured(t, cluster("ns", "c1", 3))} {
		o, err := a.prepare(obj, "r1", shardStamp{fleet: true})
		require.NoError(t, err)
		u := unstructured.Unstructured{Object: o.content}
		assert.Equal(t, "automation.dcn.ssu.ac.kr/v1alpha1", u.GetAPIVersion())
		assert.Equal(t, "Cluster", u.GetKind())
		assert.Equal(t, "fleet", u.GetLabels()[FleetNameLabel])
		assert.Equal(t, "r1", u.GetAnnotations()[automationv1alpha1.SourceRevisionAnnotation])
		assert.NotContains(t, o.content, "status")
		assert.NotContains(t, obj.GetLabels(), FleetNameLabel)
		assert.Nil(t, obj.GetAnnotations())
	}
}

func asUnstructured(t *testing.T, obj client.Object) *unstructured.Unstructured {
	t.Helper()
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	require.NoError(t, err)
	u := &unstructured.Unstructured{Object: m}
	u.SetAPIVersion(automationv1alpha1.GroupVersion.String())
	u.SetKind(automationv1alpha1.ClusterKind)
	return u
}

// handBuilt is cluster("ns", "c1", 3) written by hand, with Go types a YAML decoder would not
// produce (int, map[string]string).
func handBuilt() *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "automation.dcn.ssu.ac.kr/v1alpha1",
		"kind":       "Cluster",
		"metadata": map[string]any{
			"name": "c1", "namespace": "ns",
			"labels": map[string]string{automationv1alpha1.RegionLabel: "kr-seoul"},
		},
		"spec": map[string]any{
			"tenant": "starlab",
			"infrastructure": map[string]any{
				"provider": "docker",
				"profile":  map[string]any{"name": "small", "type": "Infrastructure", "revision": "1.0.0"},
				"override": map[string]any{"workerMachineCount": 3},
			},
		},
	}}
}
