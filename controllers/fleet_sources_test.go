package controllers_test

import (
	"fmt"
	"testing"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/controllers"
)

// A tenant cannot point its Fleet at another tenant's repository.
func TestFleetRefusesASourceInAnotherNamespace(t *testing.T) {
	tenant, other := env.Namespace(t), env.Namespace(t)
	theirs := newRepo(t, other, "their-repo")
	theirs.push(t, fleetFiles("v1.30.1", "seoul"))
	f := newFleet(t, &repo{theirs.GitRepository}, func(f *automationv1alpha1.Fleet) {
		f.Namespace = tenant
		f.Spec.SourceRef.Namespace = other
	})

	require.Eventually(t, func() bool {
		got := fleetState(t, f)
		return conditions.IsStalled(got) && conditions.GetReason(got, meta.ReadyCondition) == controllers.ReasonAccessDenied
	}, defaultWait, tick)
	got := fleetState(t, f)
	assert.Contains(t, readyMessage(got), "cross-namespace source references are not allowed")
	assert.Empty(t, namesOf(t, tenant))
	assert.Empty(t, got.Status.LastAppliedRevision)
}

// Fleets of different tenants reconcile side by side, each into its own namespace.
func TestConcurrentFleetsInDifferentNamespaces(t *testing.T) {
	const tenants = 4
	type tenant struct {
		ns    string
		fleet *automationv1alpha1.Fleet
		rev   string
	}
	ts := make([]tenant, tenants)
	for i := range ts {
		ns := env.Namespace(t)
		r := newRepo(t, ns, "fleet-repo")
		ts[i] = tenant{ns: ns, rev: r.push(t, fleetFiles("v1.30.1", fmt.Sprintf("site-%d-a", i), fmt.Sprintf("site-%d-b", i)))}
		ts[i].fleet = newFleet(t, r)
	}
	// All were created before any is awaited, so the controller works on them at once.
	for _, tn := range ts {
		waitApplied(t, tn.fleet, tn.rev)
	}
	for i, tn := range ts {
		assert.Equal(t, []string{fmt.Sprintf("site-%d-a", i), fmt.Sprintf("site-%d-b", i)}, namesOf(t, tn.ns))
	}
}
