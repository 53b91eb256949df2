package apply

import (
	"context"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
)

// Labels that Apply stamps on every object, naming the Fleet that owns it.
const (
	FleetNameLabel      = automationv1alpha1.LabelPrefix + "fleet-name"
	FleetNamespaceLabel = automationv1alpha1.LabelPrefix + "fleet-namespace"
)

// ShardLabel is Flux's sharding label. A controller started with --watch-label-selector
// caches only the Fleets (and their objects) whose value matches, so Apply copies the Fleet's
// value onto everything the Fleet applies, and the Cluster controller copies a Cluster's value
// onto the objects it renders: the shard that owns a Fleet sees all it produced, and no other
// shard does.
const ShardLabel = "sharding.fluxcd.io/key"

// StampedLabels are the labels Apply writes for its own bookkeeping; they describe which
// Fleet and controller own an object, not the object itself.
var StampedLabels = []string{FleetNameLabel, FleetNamespaceLabel, ShardLabel}

// FleetFor returns the Fleet that applied obj, from its labels.
func FleetFor(obj client.Object) (types.NamespacedName, bool) {
	labels := obj.GetLabels()
	name, namespace := labels[FleetNameLabel], labels[FleetNamespaceLabel]
	if name == "" || namespace == "" {
		return types.NamespacedName{}, false
	}
	return types.NamespacedName{Namespace: namespace, Name: name}, true
}

// MapToFleet maps an L-KaaS object to a reconcile request for its Fleet, if it has one.
func MapToFleet(_ context.Context, obj client.Object) []reconcile.Request {
	fleet, ok := FleetFor(obj)
	if !ok {
		return nil
	}
	return []reconcile.Request{{NamespacedName: fleet}}
}

// EnqueueOwningFleet is the handler for watches on L-KaaS objects in the Fleet controller:
//
//	Watches(&v1alpha1.Cluster{}, apply.EnqueueOwningFleet(), builder.WithPredicates(apply.DriftPredicate()))
func EnqueueOwningFleet() handler.EventHandler {
	return handler.EnqueueRequestsFromMapFunc(MapToFleet)
}

// OwnedByFleetPredicate passes events on objects that some Fleet applied.
func OwnedByFleetPredicate() predicate.Predicate {
	return predicate.NewPredicateFuncs(func(obj client.Object) bool {
		_, ok := FleetFor(obj)
		return ok
	})
}

// DriftPredicate passes the events that can mean drift of a Fleet's object: a delete, or an
// update of spec (generation), labels or annotations. Status updates, by far the most
// frequent events on clusters, are not drift and do not wake the Fleet.
func DriftPredicate() predicate.Predicate {
	return predicate.And(
		OwnedByFleetPredicate(),
		predicate.Or[client.Object](
			predicate.GenerationChangedPredicate{},
			predicate.LabelChangedPredicate{},
			predicate.AnnotationChangedPredicate{},
		),
		// Creations are our own applies, or objects that are not the Fleet's business yet.
		predicate.Funcs{CreateFunc: func(event.CreateEvent) bool { return false }},
	)
}
