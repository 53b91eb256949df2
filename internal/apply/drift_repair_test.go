package apply

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
)

func TestDriftIsRepairedAndForeignFieldsAreLeftAlone(t *testing.T) {
	cases := []struct {
		name string
		// edit changes the live c1 as someone else would.
		edit func(ctx context.Context, t *testing.T, c *automationv1alpha1.Cluster)
		// repaired: the next Apply must re-apply c1; otherwise it must send nothing.
		repaired bool
		check    func(t *testing.T, live *automationv1alpha1.Cluster)
	}{
		{
			name: "a field we set is changed by another manager",
			edit: func(ctx context.Context, t *testing.T, c *automationv1alpha1.Cluster) {
				patch := client.MergeFrom(c.DeepCopy())
				c.Spec.Tenant = "intruder"
				require.NoError(t, env.Client.Patch(ctx, c, patch, client.FieldOwner("kubectl-edit")))
			},
			repaired: true,
			check: func(t *testing.T, live *automationv1alpha1.Cluster) {
				assert.Equal(t, "starlab", live.Spec.Tenant)
			},
		},
		{
			name: "a label we set is removed",
			edit: func(ctx context.Context, t *testing.T, c *automationv1alpha1.Cluster) {
				patch := client.MergeFrom(c.DeepCopy())
				delete(c.Labels, FleetNameLabel)
				require.NoError(t, env.Client.Patch(ctx, c, patch, client.FieldOwner("kubectl-edit")))
			},
			repaired: true,
			check: func(t *testing.T, live *automationv1alpha1.Cluster) {
				assert.Equal(t, "fleet", live.Labels[FleetNameLabel])
			},
		},
		{
			name: "the object is deleted",
			edit: func(ctx context.Context, t *testing.T, c *automationv1alpha1.Cluster) {
				require.NoError(t, env.Client.Delete(ctx, c))
			},
			repaired: true,
			check: func(t *testing.T, live *automationv1alpha1.Cluster) {
				assert.Equal(t, "starlab", live.Spec.Tenant)
			},
		},
		{
			name: "another manager adds fields we never set",
			edit: func(ctx context.Context, t *testing.T, c *automationv1alpha1.Cluster) {
				patch := client.MergeFrom(c.DeepCopy())
				c.Labels["team"] = "platform"
				c.Annotations = map[string]string{"note": "hands off", automationv1alpha1.SourceRevisionAnnotation: c.Annotations[automationv1alpha1.SourceRevisionAnnotation]}
				c.Spec.ClusterCatalog = "medium"
				require.NoError(t, env.Client.Patch(ctx, c, patch, client.FieldOwner("kubectl-edit")))
			},
			repaired: false,
			check: func(t *testing.T, live *automationv1alpha1.Cluster) {
				assert.Equal(t, "platform", live.Labels["team"])
				assert.Equal(t, "hands off", live.Annotations["note"])
				assert.Equal(t, "medium", live.Spec.ClusterCatalog)
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := ctxFor(t)
			_, inventory, err := f.applier.Apply(ctx, smallFleet(f.ns), nil, "r1")
			require.NoError(t, err)

			var c1 automationv1alpha1.Cluster
			key := client.ObjectKey{Namespace: f.ns, Name: "c1"}
			require.NoError(t, env.Client.Get(ctx, key, &c1))
			tc.edit(ctx, t, &c1)
			waitForCacheToSee(t, f, key)

			f.writes.reset()
			before := readAPIRequests(t)
			changes, next, err := f.applier.Apply(ctx, smallFleet(f.ns), inventory, "r1")
			require.NoError(t, err)
			seen := readAPIRequests(t).sub(before)
			assert.Equal(t, inventory, next)

			if tc.repaired {
				assert.Len(t, append(changes.IDs(Configured), changes.IDs(Created)...), 1)
				assert.EqualValues(t, 1, f.writes.applies.Load())
				assert.Equal(t, 1, seen.Writes)
			} else {
				assert.False(t, changes.Changed(), changes.Summary())
				assert.Zero(t, f.writes.writes())
				assert.Zero(t, seen.Writes)
			}
			var live automationv1alpha1.Cluster
			require.NoError(t, env.Client.Get(ctx, key, &live))
			tc.check(t, &live)
		})
	}
}

// waitForCacheToSee waits until the fixture's cache reflects an edit made behind its back:
// the live resourceVersion reached, or the object gone when it was deleted.
func waitForCacheToSee(t *testing.T, f *fixture, key client.ObjectKey) {
	t.Helper()
	require.Eventually(t, func() bool {
		var live automationv1alpha1.Cluster
		if err := env.Client.Get(context.Background(), key, &live); err != nil {
			// Deleted: wait until the cache has dropped it too.
			var cached automationv1alpha1.Cluster
			return f.cache.Get(context.Background(), key, &cached) != nil
		}
		var cached automationv1alpha1.Cluster
		if err := f.cache.Get(context.Background(), key, &cached); err != nil {
			return false
		}
		return seen(cached.ResourceVersion, live.ResourceVersion)
	}, 10*time.Second, 10*time.Millisecond)
}
