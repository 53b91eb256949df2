package controllers_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
)

// Deleting an L-KaaS Cluster deletes its CAPI Cluster first, then what else it applied
// (including the shared add-on objects it was the last user of), then lets the cluster go.
func TestClusterDeletion(t *testing.T) {
	ns := clusterFixture(t)
	c := newCluster(t, ns, "doomed")
	waitCluster(t, c, "applied", func(c *automationv1alpha1.Cluster) bool { return c.Status.AppliedRenderHash != "" })

	require.NoError(t, env.Client.Delete(context.Background(), c))
	assert.Eventually(t, func() bool {
		_, err := capiObject(t, ns, capiV1, "Cluster", "doomed")
		return apierrors.IsNotFound(err)
	}, defaultWait, tick, "the CAPI Cluster goes")
	assert.Eventually(t, func() bool {
		err := env.Client.Get(context.Background(), clientKey(c), &automationv1alpha1.Cluster{})
		return apierrors.IsNotFound(err)
	}, defaultWait, tick, "the finalizer goes")
	assert.Empty(t, listCAPI(t, ns, kcpV1, "KubeadmControlPlane"))
	assert.Empty(t, listCAPI(t, ns, capiV1, "MachineDeployment"))
	assert.Empty(t, listCAPI(t, ns, addonsV1, "ClusterResourceSet"), "the last user took the shared add-on with it")
}
