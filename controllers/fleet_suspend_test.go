package controllers_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
)

func TestFleetSuspendAndResume(t *testing.T) {
	ns := env.Namespace(t)
	r := newRepo(t, ns, "fleet-repo")
	rev1 := r.push(t, fleetFiles("v1.30.1", "seoul"))
	f := newFleet(t, r)
	waitApplied(t, f, rev1)

	setSuspend(t, f, true)
	rev2 := r.push(t, fleetFiles("v1.30.1", "seoul", "busan"))
	// Give the controller ample time to (wrongly) act on the new revision.
	time.Sleep(2 * time.Second)
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
