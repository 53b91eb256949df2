package controllers_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
)

func clientKey(o client.Object) client.ObjectKey { return client.ObjectKeyFromObject(o) }

// A logical-cluster member applies its first render freely, but a changed render only once
// its LogicalCluster's permit names that render.
func TestClusterRolloutGate(t *testing.T) {
	ctx := context.Background()
	ns := clusterFixture(t)
	c := newCluster(t, ns, "member", func(c *automationv1alpha1.Cluster) {
		c.Labels = map[string]string{automationv1alpha1.LogicalClusterLabel: "edge"}
	})
	first := waitCluster(t, c, "applied", func(c *automationv1alpha1.Cluster) bool { return c.Status.AppliedRenderHash != "" })

	bumpVersion(t, ns, "v1.35.0")
	waiting := waitCluster(t, c, "waiting for its wave", func(c *automationv1alpha1.Cluster) bool {
		return c.Status.RenderHash != first.Status.AppliedRenderHash
	})
	assert.Equal(t, first.Status.AppliedRenderHash, waiting.Status.AppliedRenderHash)
	kcp, err := capiObject(t, ns, kcpV1, "KubeadmControlPlane", "member-control-plane")
	require.NoError(t, err)
	assert.Equal(t, "v1.34.1", kcp.Object["spec"].(map[string]any)["version"], "nothing applied before the permit")

	patch := client.MergeFrom(waiting.DeepCopy())
	waiting.Annotations = map[string]string{automationv1alpha1.RolloutPermitAnnotation: waiting.Status.RenderHash}
	require.NoError(t, env.Client.Patch(ctx, waiting, patch))
	waitCluster(t, c, "applied the permitted render", func(c *automationv1alpha1.Cluster) bool {
		return c.Status.AppliedRenderHash == waiting.Status.RenderHash
	})
	kcp, err = capiObject(t, ns, kcpV1, "KubeadmControlPlane", "member-control-plane")
	require.NoError(t, err)
	assert.Equal(t, "v1.35.0", kcp.Object["spec"].(map[string]any)["version"])
}
