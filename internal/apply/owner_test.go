package apply

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
)

func TestFleetForMapsAnObjectToItsFleet(t *testing.T) {
	owned := cluster("ns", "c1", 1)
	owned.Labels[FleetNameLabel], owned.Labels[FleetNamespaceLabel] = "fleet", "ns"
	halfLabelled := cluster("ns", "c2", 1)
	halfLabelled.Labels[FleetNameLabel] = "fleet"

	fleet, ok := FleetFor(owned)
	assert.True(t, ok)
	assert.Equal(t, types.NamespacedName{Namespace: "ns", Name: "fleet"}, fleet)
	assert.Equal(t, []reconcile.Request{{NamespacedName: fleet}}, MapToFleet(context.Background(), owned))

	for name, obj := range map[string]*automationv1alpha1.Cluster{
		"unlabelled":    cluster("ns", "c3", 1),
		"half-labelled": halfLabelled,
	} {
		_, ok := FleetFor(obj)
		assert.False(t, ok, name)
		assert.Empty(t, MapToFleet(context.Background(), obj), name)
	}
}

func TestDriftPredicatePassesOnlyWhatCanBeDrift(t *testing.T) {
	owned := cluster("ns", "c1", 1)
	owned.Labels[FleetNameLabel], owned.Labels[FleetNamespaceLabel] = "fleet", "ns"
	owned.Generation = 1

	specChanged := owned.DeepCopy()
	specChanged.Generation = 2
	statusChanged := owned.DeepCopy()
	statusChanged.Status.Phase = "Ready"
	relabelled := owned.DeepCopy()
	relabelled.Labels["x"] = "y"
	foreign := cluster("ns", "c1", 1)
	foreignChanged := foreign.DeepCopy()
	foreignChanged.Generation = 2

	p := DriftPredicate()
	assert.True(t, p.Update(event.UpdateEvent{ObjectOld: owned, ObjectNew: specChanged}), "spec edit")
	assert.True(t, p.Update(event.UpdateEvent{ObjectOld: owned, ObjectNew: relabelled}), "label edit")
	assert.True(t, p.Delete(event.DeleteEvent{Object: owned}), "delete")
	assert.False(t, p.Update(event.UpdateEvent{ObjectOld: owned, ObjectNew: statusChanged}), "status only")
	assert.False(t, p.Create(event.CreateEvent{Object: owned}), "create")
	assert.False(t, p.Update(event.UpdateEvent{ObjectOld: foreign, ObjectNew: foreignChanged}), "not a Fleet's")
}
