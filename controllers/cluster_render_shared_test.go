package controllers

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/internal/apply"
	"github.com/dcn-ssu/lkaas/internal/render"
	"github.com/dcn-ssu/lkaas/internal/resolve"
)

// The objects of one Renderer's renders share the parts of their template that hold no
// variable (render.Result). What the Cluster controller does to a render before applying it
// (the version gate, owner references, the shard label, the add-on labels, the object hash)
// must leave every other render of the Renderer as it was.
func TestApplyPreparationLeavesSharedRendersAlone(t *testing.T) {
	r := render.NewRenderer(render.Options{Root: ".."})
	var results []*render.Result
	var want []string
	for i := range 6 {
		p := &resolve.Plan{
			Namespace: "tenant", Name: fmt.Sprintf("edge-%d", i), Provider: "docker",
			Infrastructure: resolve.ResolvedProfile{
				Key:      resolve.ProfileKey{Namespace: "default", Name: "in-memory", Type: automationv1alpha1.InfrastructureProfileType, Revision: "1.0.0"},
				Template: &automationv1alpha1.TemplateSource{Path: "gitops-examples/fleet-repo/templates/docker-inmemory/cluster-template.yaml"},
			},
			KubernetesVersion: "v1.34.1", ControlPlaneReplicas: 1, WorkerReplicas: 2,
		}
		res, err := r.Render(p)
		require.NoError(t, err)
		b, err := res.YAML()
		require.NoError(t, err)
		results, want = append(results, res), append(want, string(b))
	}
	for i, res := range results {
		cluster := &automationv1alpha1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: res.Namespace, Name: res.Name, UID: "uid",
			Labels: map[string]string{apply.ShardLabel: fmt.Sprintf("shard-%d", i)}}}
		gated := applyGate(res.Objects, versionGate{controlPlane: fmt.Sprintf("v1.33.%d", i), workers: fmt.Sprintf("v1.32.%d", i)})
		prepared := prepareObjects(cluster, gated, i%2 == 0)
		require.Len(t, prepared, len(res.Objects))
	}
	for i, res := range results {
		b, err := res.YAML()
		require.NoError(t, err)
		require.Equal(t, want[i], string(b), "%s's render changed when it or another was prepared for apply", res.Name)
	}
}
