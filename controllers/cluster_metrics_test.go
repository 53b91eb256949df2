package controllers_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/controllers"
)

// lkaas_cluster_phase carries one series per cluster, under its current phase only; a
// removed cluster leaves no series behind; a nil *ClusterMetrics records nothing.
func TestClusterMetricsPhaseSeries(t *testing.T) {
	seoul := &automationv1alpha1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: "tenant-a", Name: "seoul"}}
	busan := &automationv1alpha1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: "tenant-a", Name: "busan"}}
	type phases = map[string]float64 // "name/phase" -> value
	steps := []struct {
		name    string
		do      func(m *controllers.ClusterMetrics)
		want    phases
		applied map[string]float64
	}{{
		name: "no phase reported yet: no series",
		do:   func(m *controllers.ClusterMetrics) { m.Record(seoul, time.Now()) },
		want: phases{},
	}, {
		name: "first phase",
		do: func(m *controllers.ClusterMetrics) {
			seoul.Status.Phase = automationv1alpha1.ClusterPhasePending
			m.Record(seoul, time.Now())
			m.Applied(seoul, 7)
		},
		want: phases{"seoul/Pending": 1}, applied: map[string]float64{"seoul": 7},
	}, {
		name: "the phase moves on: the old series goes",
		do: func(m *controllers.ClusterMetrics) {
			seoul.Status.Phase = automationv1alpha1.ClusterPhaseProvisioning
			m.Record(seoul, time.Now())
			m.Applied(seoul, 0)
			busan.Status.Phase = automationv1alpha1.ClusterPhaseProvisioning
			m.Record(busan, time.Now())
			m.Applied(busan, 2)
		},
		want: phases{"seoul/Provisioning": 1, "busan/Provisioning": 1}, applied: map[string]float64{"seoul": 7, "busan": 2},
	}, {
		name: "a removed cluster leaves nothing",
		do: func(m *controllers.ClusterMetrics) {
			m.Forget(types.NamespacedName{Namespace: "tenant-a", Name: "seoul"})
		},
		want: phases{"busan/Provisioning": 1}, applied: map[string]float64{"busan": 2},
	}}

	reg := prometheus.NewRegistry()
	m := controllers.NewClusterMetrics(reg)
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			step.do(m)
			got := phases{}
			for _, s := range samples(t, reg, "lkaas_cluster_phase", nil) {
				got[s.labels["name"]+"/"+s.labels["phase"]] = s.value
			}
			assert.Equal(t, step.want, got)
			applied := map[string]float64{}
			for _, s := range samples(t, reg, "lkaas_cluster_applied_objects_total", nil) {
				applied[s.labels["name"]] = s.value
			}
			if step.applied == nil {
				step.applied = map[string]float64{}
			}
			assert.Equal(t, step.applied, applied)
		})
	}
	durations := samples(t, reg, "lkaas_cluster_reconcile_duration_seconds", map[string]string{"namespace": "tenant-a"})
	require.Len(t, durations, 1, "one histogram per namespace")
	assert.Equal(t, 4.0, durations[0].value, "every Record is one observation")

	var none *controllers.ClusterMetrics
	assert.NotPanics(t, func() {
		none.Record(seoul, time.Now())
		none.Applied(seoul, 1)
		none.Forget(types.NamespacedName{Namespace: "tenant-a", Name: "seoul"})
	})
}

// The manager's Cluster controller reports lkaas_cluster_* on /metrics: the phase as it
// moves, the objects it applied, the reconcile durations; deleting the cluster removes its
// series.
func TestClusterMetrics(t *testing.T) {
	ns := clusterFixture(t)
	c := newCluster(t, ns, "metered")
	c = waitCluster(t, c, "Pending and applied", func(c *automationv1alpha1.Cluster) bool {
		return c.Status.AppliedRenderHash != "" && c.Status.Phase == automationv1alpha1.ClusterPhasePending
	})
	this := map[string]string{"namespace": ns, "name": "metered"}

	assert.Eventually(t, func() bool {
		return phasesOf(t, this) == "Pending"
	}, defaultWait, tick, "Pending is the only phase")
	written := samples(t, metrics.Registry, "lkaas_cluster_applied_objects_total", this)
	require.Len(t, written, 1)
	assert.Equal(t, float64(len(appliedObjects(t, c))), written[0].value, "the first apply wrote every object, later passes none")
	durations := samples(t, metrics.Registry, "lkaas_cluster_reconcile_duration_seconds", map[string]string{"namespace": ns})
	require.Len(t, durations, 1)
	assert.Positive(t, durations[0].value)

	setCAPIConditions(t, ns, "metered", map[string]metav1.ConditionStatus{"InfrastructureReady": metav1.ConditionFalse})
	waitCluster(t, c, "Provisioning", inPhase(automationv1alpha1.ClusterPhaseProvisioning))
	assert.Eventually(t, func() bool {
		return phasesOf(t, this) == "Provisioning"
	}, defaultWait, tick, "the Pending series went")

	require.NoError(t, env.Client.Delete(context.Background(), c))
	require.Eventually(t, func() bool {
		return apierrors.IsNotFound(env.Client.Get(context.Background(), clientKey(c), &automationv1alpha1.Cluster{}))
	}, defaultWait, tick)
	assert.Eventually(t, func() bool {
		return len(samples(t, metrics.Registry, "lkaas_cluster_phase", this)) == 0 &&
			len(samples(t, metrics.Registry, "lkaas_cluster_applied_objects_total", this)) == 0
	}, defaultWait, tick, "no series outlive the cluster")
}

// phasesOf is the phases under which the cluster has a series, joined by commas.
func phasesOf(t *testing.T, labels map[string]string) string {
	var out string
	for _, s := range samples(t, metrics.Registry, "lkaas_cluster_phase", labels) {
		if out != "" {
			out += ","
		}
		out += s.labels["phase"]
		if s.value != 1 {
			out += "!"
		}
	}
	return out
}

func appliedObjects(t *testing.T, c *automationv1alpha1.Cluster) []any {
	t.Helper()
	var refs []any
	require.NoError(t, json.Unmarshal([]byte(c.Annotations[controllers.AppliedObjectsAnnotation]), &refs))
	return refs
}

type sample struct {
	labels map[string]string
	value  float64 // a histogram's sample count
}

// samples gathers the series of a metric that carry the labels.
func samples(t *testing.T, g prometheus.Gatherer, name string, labels map[string]string) []sample {
	t.Helper()
	families, err := g.Gather()
	require.NoError(t, err)
	var out []sample
	for _, fam := range families {
		if fam.GetName() != name {
			continue
		}
	metric:
		for _, m := range fam.GetMetric() {
			s := sample{labels: map[string]string{}}
			for _, l := range m.GetLabel() {
				s.labels[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if s.labels[k] != v {
					continue metric
				}
			}
			switch {
			case m.GetGauge() != nil:
				s.value = m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				s.value = m.GetCounter().GetValue()
			case m.GetHistogram() != nil:
				s.value = float64(m.GetHistogram().GetSampleCount())
			}
			out = append(out, s)
		}
	}
	return out
}
