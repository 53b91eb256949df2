package controllers_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
)

// A paused cluster is not changed, whatever its profiles say; it reports Paused.
func TestClusterPaused(t *testing.T) {
	ctx := context.Background()
	ns := clusterFixture(t)
	c := newCluster(t, ns, "held")
	// An unpaused twin on the same profiles shows when the bump has been acted on.
	twin := newCluster(t, ns, "twin")
	got := waitCluster(t, c, "applied", func(c *automationv1alpha1.Cluster) bool { return c.Status.AppliedRenderHash != "" })
	waitCluster(t, twin, "applied", func(c *automationv1alpha1.Cluster) bool { return c.Status.AppliedRenderHash != "" })

	patch := client.MergeFrom(got.DeepCopy())
	got.Annotations = map[string]string{automationv1alpha1.PausedAnnotation: "true"}
	require.NoError(t, env.Client.Patch(ctx, got, patch))
	waitCluster(t, c, "Paused", func(c *automationv1alpha1.Cluster) bool { return hasTrueCondition(c, "Paused") })

	bumpVersion(t, ns, "v1.35.0")
	assert.Eventually(t, func() bool {
		kcp, err := capiObject(t, ns, kcpV1, "KubeadmControlPlane", "twin-control-plane")
		return err == nil && kcp.Object["spec"].(map[string]any)["version"] == "v1.35.0"
	}, defaultWait, tick, "the unpaused twin takes the new version")
	kcp, err := capiObject(t, ns, kcpV1, "KubeadmControlPlane", "held-control-plane")
	require.NoError(t, err)
	assert.Equal(t, "v1.34.1", kcp.Object["spec"].(map[string]any)["version"])
	assert.Equal(t, got.Status.AppliedRenderHash, lkCluster(t, c).Status.AppliedRenderHash)
}
