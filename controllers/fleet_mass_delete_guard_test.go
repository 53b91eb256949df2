package controllers_test

import (
	"context"
	"testing"

	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/controllers"
)

// A truncated commit that would delete most of a fleet is held back until someone approves
// that very revision.
func TestFleetHoldsBackMassDeletionUntilApproved(t *testing.T) {
	ns := env.Namespace(t)
	r := newRepo(t, ns, "fleet-repo")
	good := r.push(t, fleetFiles("v1.30.1", "seoul", "busan", "gwangju", "daegu"))
	f := newFleet(t, r)
	waitApplied(t, f, good)

	truncated := r.push(t, fleetFiles("v1.30.1", "seoul"))
	got := waitNotReady(t, f, truncated, controllers.ReasonDeletionHeld)
	assert.Contains(t, readyMessage(got), "would delete 3 of 4 clusters")
	assert.True(t, conditions.IsTrue(got, controllers.DeletionHeldCondition))
	assert.Equal(t, good, got.Status.LastAppliedRevision)
	assert.Equal(t, []string{"busan", "daegu", "gwangju", "seoul"}, namesOf(t, ns), "nothing deleted")

	t.Run("an approval for another revision does not count", func(t *testing.T) {
		approve(t, f, "main@sha1:0000000000000000000000000000000000000000")
		got := waitNotReady(t, f, truncated, controllers.ReasonDeletionHeld)
		assert.Equal(t, good, got.Status.LastAppliedRevision)
	})

	t.Run("approving the revision lets it through", func(t *testing.T) {
		approve(t, f, truncated)
		got := waitApplied(t, f, truncated)
		assert.Equal(t, []string{"seoul"}, namesOf(t, ns))
		assert.False(t, conditions.Has(got, controllers.DeletionHeldCondition))
	})

	t.Run("deleting every cluster always needs approval", func(t *testing.T) {
		patchGuard(t, f, 100)
		empty := r.push(t, fleetFiles("v1.30.1"))
		got := waitNotReady(t, f, empty, controllers.ReasonDeletionHeld)
		assert.Contains(t, readyMessage(got), "would delete all 1 clusters of the fleet")
		assert.Equal(t, []string{"seoul"}, namesOf(t, ns))
	})
}

func approve(t *testing.T, f *automationv1alpha1.Fleet, revision string) {
	t.Helper()
	cur := fleetState(t, f)
	p := client.MergeFrom(cur.DeepCopy())
	if cur.Annotations == nil {
		cur.Annotations = map[string]string{}
	}
	cur.Annotations[automationv1alpha1.ApproveDeletionAnnotation] = revision
	require.NoError(t, env.Client.Patch(context.Background(), cur, p))
}

func patchGuard(t *testing.T, f *automationv1alpha1.Fleet, percent int32) {
	t.Helper()
	cur := fleetState(t, f)
	p := client.MergeFrom(cur.DeepCopy())
	cur.Spec.DeletionGuard = &automationv1alpha1.DeletionGuard{MaxClusterDeletionPercent: percent}
	require.NoError(t, env.Client.Patch(context.Background(), cur, p))
}
