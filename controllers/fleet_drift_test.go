package controllers_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
)

// Someone edits or deletes what Git declares: the Fleet puts it back from its last revision,
// without a new commit, and leaves alone what Git does not declare.
func TestFleetCorrectsDrift(t *testing.T) {
	ns := env.Namespace(t)
	r := newRepo(t, ns, "fleet-repo")
	rev := r.push(t, fleetFiles("v1.30.1", "seoul", "busan"))
	f := newFleet(t, r)
	waitApplied(t, f, rev)
	ctx := context.Background()
	key := client.ObjectKey{Namespace: ns, Name: "seoul"}
	c := &automationv1alpha1.Cluster{}

	t.Run("an edited field is restored", func(t *testing.T) {
		require.NoError(t, env.Client.Get(ctx, key, c))
		p := client.MergeFrom(c.DeepCopy())
		c.Spec.ClusterCatalog = "hand-edited"
		require.NoError(t, env.Client.Patch(ctx, c, p, client.FieldOwner("kubectl-edit")))

		require.Eventually(t, func() bool {
			require.NoError(t, env.Client.Get(ctx, key, c))
			return c.Spec.ClusterCatalog == "small"
		}, defaultWait, tick)
	})

	t.Run("a deleted object is recreated", func(t *testing.T) {
		require.NoError(t, env.Client.Get(ctx, key, c))
		oldUID := c.UID
		require.NoError(t, env.Client.Delete(ctx, c))
		require.Eventually(t, func() bool {
			return env.Client.Get(ctx, key, c) == nil && c.UID != oldUID
		}, defaultWait, tick)
	})

	t.Run("a field Git does not set is left alone", func(t *testing.T) {
		require.NoError(t, env.Client.Get(ctx, key, c))
		p := client.MergeFrom(c.DeepCopy())
		c.Spec.Override = &apiextensionsv1.JSON{Raw: []byte(`{"workerMachineCount":5}`)}
		require.NoError(t, env.Client.Patch(ctx, c, p, client.FieldOwner("autoscaler")))

		// A new commit elsewhere makes the Fleet apply again; the override survives it.
		rev2 := r.push(t, fleetFiles("v1.30.1", "seoul", "busan", "gwangju"))
		waitApplied(t, f, rev2)
		require.NoError(t, env.Client.Get(ctx, key, c))
		require.NotNil(t, c.Spec.Override)
		assert.JSONEq(t, `{"workerMachineCount":5}`, string(c.Spec.Override.Raw))
	})
}
