package controllers

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
	"github.com/dcn-ssu/lkaas/internal/apply"
)

// SetupWithManager registers the status writer. Every event — on the Fleet, its Clusters or
// its LogicalClusters — queues the Fleet after the window; the queue keeps one entry per
// Fleet, so a burst of changes becomes one pass and one commit.
func (r *StatusWriter) SetupWithManager(mgr ctrl.Manager) error {
	self := func(o client.Object) (types.NamespacedName, bool) { return client.ObjectKeyFromObject(o), true }
	return ctrl.NewControllerManagedBy(mgr).
		Named("statuswriter").
		Watches(&automationv1alpha1.Fleet{}, enqueueAfter(r.window(), self)).
		Watches(&automationv1alpha1.Cluster{}, enqueueAfter(r.window(), apply.FleetFor)).
		Watches(&intentv1.LogicalCluster{}, enqueueAfter(r.window(), apply.FleetFor)).
		Complete(r)
}

// enqueueAfter queues the Fleet that fleetOf names, after window.
func enqueueAfter(window time.Duration, fleetOf func(client.Object) (types.NamespacedName, bool)) handler.EventHandler {
	add := func(o client.Object, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
		if key, ok := fleetOf(o); ok {
			q.AddAfter(reconcile.Request{NamespacedName: key}, window)
		}
	}
	return handler.Funcs{
		CreateFunc: func(_ context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			add(e.Object, q)
		},
		UpdateFunc: func(_ context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			add(e.ObjectNew, q)
		},
		DeleteFunc: func(_ context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			add(e.Object, q)
		},
		GenericFunc: func(_ context.Context, e event.GenericEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			add(e.Object, q)
		},
	}
}
