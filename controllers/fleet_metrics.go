package controllers

import (
	"errors"
	"time"

	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/prometheus/client_golang/prometheus"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
)

// FleetMetrics are the lkaas_fleet_* Prometheus metrics.
type FleetMetrics struct {
	duration  *prometheus.HistogramVec
	ready     *prometheus.GaugeVec
	clusters  *prometheus.GaugeVec
	inventory *prometheus.GaugeVec
}

// NewFleetMetrics registers the metrics with reg (the manager's registry); registering twice
// (several managers in one test binary) reuses the collectors already there.
func NewFleetMetrics(reg prometheus.Registerer) *FleetMetrics {
	return &FleetMetrics{
		duration: register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "lkaas_fleet_reconcile_duration_seconds", Help: "Duration of one Fleet reconciliation.",
			Buckets: []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120},
		}, []string{"namespace", "name"})),
		ready: register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "lkaas_fleet_ready", Help: "1 when the Fleet's last revision is applied, 0 otherwise.",
		}, []string{"namespace", "name"})),
		clusters: register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "lkaas_fleet_clusters", Help: "Clusters of the Fleet by phase.",
		}, []string{"namespace", "name", "phase"})),
		inventory: register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "lkaas_fleet_inventory_objects", Help: "Objects the Fleet applied.",
		}, []string{"namespace", "name"})),
	}
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var already prometheus.AlreadyRegisteredError
		if errors.As(err, &already) {
			return already.ExistingCollector.(C)
		}
		panic(err)
	}
	return c
}

// Record notes the outcome of one reconciliation.
func (m *FleetMetrics) Record(fleet *automationv1alpha1.Fleet, took time.Duration) {
	if m == nil {
		return
	}
	ns, name := fleet.Namespace, fleet.Name
	m.duration.WithLabelValues(ns, name).Observe(took.Seconds())
	ready := 0.0
	if conditions.IsReady(fleet) {
		ready = 1
	}
	m.ready.WithLabelValues(ns, name).Set(ready)
	m.clusters.DeletePartialMatch(prometheus.Labels{"namespace": ns, "name": name})
	for phase, n := range fleet.Status.Clusters {
		m.clusters.WithLabelValues(ns, name, phase).Set(float64(n))
	}
	m.inventory.WithLabelValues(ns, name).Set(float64(len(inventoryEntries(fleet))))
}

// Forget drops a deleted Fleet's series.
func (m *FleetMetrics) Forget(namespace, name string) {
	if m == nil {
		return
	}
	labels := prometheus.Labels{"namespace": namespace, "name": name}
	m.duration.DeletePartialMatch(labels)
	m.ready.DeletePartialMatch(labels)
	m.clusters.DeletePartialMatch(labels)
	m.inventory.DeletePartialMatch(labels)
}
