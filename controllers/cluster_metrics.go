package controllers

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
)

// ClusterMetrics are the lkaas_cluster_* Prometheus metrics. A nil *ClusterMetrics records
// nothing, so a reconciler built without it (tests) works unchanged.
type ClusterMetrics struct {
	phase    *prometheus.GaugeVec
	applied  *prometheus.CounterVec
	duration *prometheus.HistogramVec

	mu sync.Mutex
	// last is the phase each cluster's series carries, to drop it when the phase moves on.
	last map[types.NamespacedName]string
}

// NewClusterMetrics registers the metrics with reg (the manager's registry); registering
// twice reuses the collectors already there.
func NewClusterMetrics(reg prometheus.Registerer) *ClusterMetrics {
	return &ClusterMetrics{
		// One series per cluster, 1 under its current phase: alerts name the cluster, and
		// sum by (namespace, phase) counts the clusters per phase.
		phase: register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "lkaas_cluster_phase", Help: "1 for the Cluster's current phase (status.phase).",
		}, []string{"namespace", "name", "phase"})),
		applied: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lkaas_cluster_applied_objects_total", Help: "Objects the Cluster controller wrote (server-side applied) for the Cluster.",
		}, []string{"namespace", "name"})),
		// By namespace, not by cluster: a histogram is a dozen series, and thousands of
		// clusters would make it the largest metric of the controller.
		duration: register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "lkaas_cluster_reconcile_duration_seconds", Help: "Duration of one Cluster reconciliation, by namespace.",
			Buckets: []float64{0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}, []string{"namespace"})),
		last: map[types.NamespacedName]string{},
	}
}

// Record notes one pass over the cluster, begun at start, and the phase it left it in.
func (m *ClusterMetrics) Record(cluster *automationv1alpha1.Cluster, start time.Time) {
	if m == nil {
		return
	}
	m.duration.WithLabelValues(cluster.Namespace).Observe(time.Since(start).Seconds())
	key := types.NamespacedName{Namespace: cluster.Namespace, Name: cluster.Name}
	phase := string(cluster.Status.Phase)
	m.mu.Lock()
	defer m.mu.Unlock()
	if last, ok := m.last[key]; ok && last != phase {
		m.phase.DeleteLabelValues(key.Namespace, key.Name, last)
	}
	if phase == "" {
		delete(m.last, key) // nothing reported yet
		return
	}
	m.last[key] = phase
	m.phase.WithLabelValues(key.Namespace, key.Name, phase).Set(1)
}

// Applied counts the objects one pass wrote; a pass that wrote none still creates the
// series, so that rate() sees the first writes of a cluster.
func (m *ClusterMetrics) Applied(cluster *automationv1alpha1.Cluster, n int) {
	if m == nil {
		return
	}
	m.applied.WithLabelValues(cluster.Namespace, cluster.Name).Add(float64(max(n, 0)))
}

// Forget drops a removed cluster's series, so that it leaves no stale phase behind.
func (m *ClusterMetrics) Forget(key types.NamespacedName) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.last, key)
	m.phase.DeletePartialMatch(prometheus.Labels{"namespace": key.Namespace, "name": key.Name})
	m.applied.DeleteLabelValues(key.Namespace, key.Name)
}
