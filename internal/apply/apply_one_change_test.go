package apply

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
)

func TestOneChangedObjectIsTheOnlyOneApplied(t *testing.T) {
	f := newFixture(t)
	ctx := ctxFor(t)

	_, inventory, err := f.applier.Apply(ctx, smallFleet(f.ns), nil, "main@sha1:aaa")
	require.NoError(t, err)
	f.writes.reset()

	desired := smallFleet(f.ns)
	desired[2] = cluster(f.ns, "c1", 5) // c1: 3 -> 5 workers
	before := readAPIRequests(t)
	changes, next, err := f.applier.Apply(ctx, desired, inventory, "main@sha1:bbb")
	require.NoError(t, err)
	seen := readAPIRequests(t).sub(before)

	c1ID := f.ns + "_c1_automation.dcn.ssu.ac.kr_Cluster"
	assert.Equal(t, []string{c1ID}, changes.IDs(Configured))
	assert.Len(t, changes.IDs(Unchanged), 4)
	assert.Equal(t, "1 configured, 4 unchanged (configured Cluster/"+f.ns+"/c1)", changes.Summary())
	assert.EqualValues(t, 1, f.writes.applies.Load())
	assert.EqualValues(t, 1, f.writes.writes())
	assert.Equal(t, apiRequests{Writes: 1}, seen)

	for i := range next {
		if next[i].ID == c1ID {
			assert.NotEqual(t, inventory[i].Hash, next[i].Hash)
		} else {
			assert.Equal(t, inventory[i], next[i])
		}
	}

	// The applied object carries the new revision; an unchanged one keeps the one its content
	// came from.
	var c1, c2 automationv1alpha1.Cluster
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Namespace: f.ns, Name: "c1"}, &c1))
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Namespace: f.ns, Name: "c2"}, &c2))
	assert.Equal(t, "main@sha1:bbb", c1.Annotations[automationv1alpha1.SourceRevisionAnnotation])
	assert.Equal(t, "main@sha1:aaa", c2.Annotations[automationv1alpha1.SourceRevisionAnnotation])
	assert.JSONEq(t, `{"workerMachineCount":5}`, string(c1.Spec.Infrastructure.Override.Raw))
}

// A field dropped from a document is removed from the live object: the hash changes although
// the live object still holds every field of the new document.
func TestARemovedFieldIsRemovedLive(t *testing.T) {
	f := newFixture(t)
	ctx := ctxFor(t)

	_, inventory, err := f.applier.Apply(ctx, []client.Object{cluster(f.ns, "c1", 3)}, nil, "r1")
	require.NoError(t, err)

	trimmed := cluster(f.ns, "c1", 3)
	trimmed.Spec.Infrastructure.Override = nil
	delete(trimmed.Labels, automationv1alpha1.RegionLabel)
	changes, _, err := f.applier.Apply(ctx, []client.Object{trimmed}, inventory, "r2")
	require.NoError(t, err)
	assert.Len(t, changes.IDs(Configured), 1)

	var live automationv1alpha1.Cluster
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Namespace: f.ns, Name: "c1"}, &live))
	assert.Nil(t, live.Spec.Infrastructure.Override)
	assert.NotContains(t, live.Labels, automationv1alpha1.RegionLabel)
}

// A pass that runs before the previous pass's inventory reached it (the Fleet read from a
// cache that lags its own status write) must not apply the same change a second time.
func TestAStaleInventoryDoesNotReapplyWhatWasJustWritten(t *testing.T) {
	f := newFixture(t)
	ctx := ctxFor(t)

	_, stale, err := f.applier.Apply(ctx, smallFleet(f.ns), nil, "main@sha1:aaa")
	require.NoError(t, err)

	desired := smallFleet(f.ns)
	desired[2] = cluster(f.ns, "c1", 5)
	_, _, err = f.applier.Apply(ctx, desired, stale, "main@sha1:bbb")
	require.NoError(t, err)
	f.writes.reset()

	before := readAPIRequests(t)
	changes, _, err := f.applier.Apply(ctx, desired, stale, "main@sha1:bbb")
	require.NoError(t, err)
	assert.Empty(t, changes.IDs(Configured), "nothing is applied twice")
	assert.EqualValues(t, 0, f.writes.writes())
	assert.Equal(t, apiRequests{}, readAPIRequests(t).sub(before))
}

// The same stale inventory after another controller wrote to the object (the Cluster controller
// adding its finalizer and its record of applied objects): the version the Applier wrote is
// gone, but the content it wrote is still there, so comparing fields finds no drift and
// nothing is applied again. The first apply of a large fleet met exactly this.
func TestAStaleInventoryDoesNotReapplyAfterAnotherWriter(t *testing.T) {
	f := newFixture(t)
	ctx := ctxFor(t)

	_, _, err := f.applier.Apply(ctx, smallFleet(f.ns), nil, "main@sha1:aaa")
	require.NoError(t, err)

	key := client.ObjectKey{Namespace: f.ns, Name: "c1"}
	var c1 automationv1alpha1.Cluster
	require.NoError(t, env.Client.Get(ctx, key, &c1))
	base := c1.DeepCopy()
	c1.Finalizers = append(c1.Finalizers, "example.com/other")
	c1.Annotations["example.com/record"] = "[]"
	require.NoError(t, env.Client.Patch(ctx, &c1, client.MergeFrom(base), client.FieldOwner("other-controller")))
	require.Eventually(t, func() bool {
		var cached automationv1alpha1.Cluster
		return f.cache.Get(ctx, key, &cached) == nil && cached.ResourceVersion == c1.ResourceVersion
	}, time.Minute, 20*time.Millisecond, "the cache sees the other writer")
	f.writes.reset()

	changes, _, err := f.applier.Apply(ctx, smallFleet(f.ns), nil, "main@sha1:aaa")
	require.NoError(t, err)
	assert.Empty(t, changes.IDs(Configured), "nothing is applied twice")
	assert.Empty(t, changes.IDs(Created))
	assert.EqualValues(t, 0, f.writes.writes())

	// Drift the other writer makes to a field the Fleet owns is still corrected.
	require.NoError(t, env.Client.Get(ctx, key, &c1))
	base = c1.DeepCopy()
	c1.Labels[automationv1alpha1.RegionLabel] = "kr-busan"
	require.NoError(t, env.Client.Patch(ctx, &c1, client.MergeFrom(base), client.FieldOwner("other-controller")))
	require.Eventually(t, func() bool {
		var cached automationv1alpha1.Cluster
		return f.cache.Get(ctx, key, &cached) == nil && cached.ResourceVersion == c1.ResourceVersion
	}, time.Minute, 20*time.Millisecond, "the cache sees the drift")
	changes, _, err = f.applier.Apply(ctx, smallFleet(f.ns), nil, "main@sha1:aaa")
	require.NoError(t, err)
	assert.Equal(t, []string{f.ns + "_c1_automation.dcn.ssu.ac.kr_Cluster"}, changes.IDs(Configured))
}
