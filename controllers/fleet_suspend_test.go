package controllers_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
)

func TestFleetSuspendAndResume(t *testing.T) {
	ns := env.Namespace(t)
	r := newRepo(t, ns, "fleet-repo")
	rev1 := r.push(t, fleetFiles("v1.30.1", "seoul"))
	f := newFleet(t, r)
	waitApplied(t, f, rev1)

	setSuspend(t, f, true)
	passes := fleetPasses(t)
	rev2 := r.push(t, fleetFiles("v1.30.1", "seoul", "busan"))
	// The new revision wakes the controller; once it has passed, it has had its chance to
	// (wrongly) act on it.
	require.Eventually(t, func() bool { return fleetPasses(t) > passes }, defaultWait, tick, "a pass after the push")
	got := fleetState(t, f)
	assert.Equal(t, rev1, got.Status.LastAppliedRevision)
	assert.Equal(t, []string{"seoul"}, namesOf(t, ns))

	setSuspend(t, f, false)
	waitApplied(t, f, rev2)
	assert.Equal(t, []string{"busan", "seoul"}, namesOf(t, ns))
}

func setSuspend(t *testing.T, f *automationv1alpha1.Fleet, suspend bool) {
	t.Helper()
	cur := fleetState(t, f)
	p := client.MergeFrom(cur.DeepCopy())
	cur.Spec.Suspend = suspend
	require.NoError(t, env.Client.Patch(context.Background(), cur, p))
}

// fleetPasses counts the Fleet controller's passes in this process.
func fleetPasses(t *testing.T) float64 {
	var n float64
	for _, s := range samples(t, metrics.Registry, "controller_runtime_reconcile_total", map[string]string{"controller": "fleet"}) {
		n += s.value
	}
	return n
}
