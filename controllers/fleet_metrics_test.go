package controllers_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// The lkaas_fleet_* metrics describe each Fleet on the manager's /metrics endpoint.
func TestFleetMetrics(t *testing.T) {
	ns := env.Namespace(t)
	r := newRepo(t, ns, "fleet-repo")
	rev := r.push(t, fleetFiles("v1.30.1", "seoul", "busan"))
	waitApplied(t, newFleet(t, r), rev)

	// gauge sums the series of a metric that carry the labels.
	gauge := func(name string, labels map[string]string) (float64, bool) {
		families, err := metrics.Registry.Gather()
		require.NoError(t, err)
		var sum float64
		var found bool
		for _, fam := range families {
			if fam.GetName() != name {
				continue
			}
		metric:
			for _, m := range fam.GetMetric() {
				for _, l := range m.GetLabel() {
					if want, ok := labels[l.GetName()]; ok && want != l.GetValue() {
						continue metric
					}
				}
				sum += m.GetGauge().GetValue()
				found = true
			}
		}
		return sum, found
	}
	ready, ok := gauge("lkaas_fleet_ready", map[string]string{"namespace": ns, "name": "fleet"})
	require.True(t, ok)
	assert.Equal(t, 1.0, ready)
	// By phase: which phase depends on the Cluster controller; both clusters are counted.
	clusters, ok := gauge("lkaas_fleet_clusters", map[string]string{"namespace": ns, "name": "fleet"})
	require.True(t, ok)
	assert.Equal(t, 2.0, clusters)
	objects, ok := gauge("lkaas_fleet_inventory_objects", map[string]string{"namespace": ns, "name": "fleet"})
	require.True(t, ok)
	assert.Equal(t, 5.0, objects)
}
