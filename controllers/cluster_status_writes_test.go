package controllers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/controllers"
)

// statusWrites counts, per Cluster of a namespace, the writes that changed its status, as the
// API server's watch reports them (each write is one event with a new resource version).
type statusWrites struct {
	mu       sync.Mutex
	last     map[string]string
	lastMeta map[string]string
	counts   map[string]int
	meta     map[string]int // writes that changed labels, annotations or finalizers
}

func watchStatusWrites(t *testing.T, ns string) *statusWrites {
	t.Helper()
	wc, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Client.Scheme()})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	w, err := wc.Watch(ctx, &automationv1alpha1.ClusterList{}, client.InNamespace(ns))
	require.NoError(t, err)
	s := &statusWrites{last: map[string]string{}, lastMeta: map[string]string{}, counts: map[string]int{}, meta: map[string]int{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			c, ok := ev.Object.(*automationv1alpha1.Cluster)
			if !ok || ev.Type == watch.Deleted {
				continue
			}
			status, _ := json.Marshal(c.Status)
			meta, _ := json.Marshal([]any{c.Labels, c.Annotations, c.Finalizers})
			s.mu.Lock()
			if prev, seen := s.last[c.Name]; seen && prev != string(status) {
				s.counts[c.Name]++
			}
			if prev, seen := s.lastMeta[c.Name]; seen && prev != string(meta) {
				s.meta[c.Name]++
			}
			s.last[c.Name], s.lastMeta[c.Name] = string(status), string(meta)
			s.mu.Unlock()
		}
	}()
	t.Cleanup(func() { cancel(); w.Stop(); <-done })
	return s
}

func (s *statusWrites) of(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[name]
}

func (s *statusWrites) metadataOf(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.meta[name]
}

// settle waits until no status write has been seen for quiet (bounded by limit).
func (s *statusWrites) settle(quiet, limit time.Duration) {
	snapshot := func() string {
		s.mu.Lock()
		defer s.mu.Unlock()
		b, _ := json.Marshal(s.counts)
		return string(b)
	}
	deadline := time.Now().Add(limit)
	prev, since := snapshot(), time.Now()
	for time.Now().Before(deadline) && time.Since(since) < quiet {
		time.Sleep(100 * time.Millisecond)
		if cur := snapshot(); cur != prev {
			prev, since = cur, time.Now()
		}
	}
}

// A pass writes its whole status, conditions included, in one patch: first apply (render,
// apply, observe) costs each cluster at most two status writes and one metadata write, and a
// ladder step that changes CAPI's conditions and with them the phase costs one.
func TestClusterStatusWritesPerPass(t *testing.T) {
	ns := clusterFixture(t)
	writes := watchStatusWrites(t, ns)
	const n = 5
	for i := 0; i < n; i++ {
		newCluster(t, ns, fmt.Sprintf("writes-%d", i))
	}
	for i := 0; i < n; i++ {
		waitCluster(t, &automationv1alpha1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("writes-%d", i)}},
			"applied", func(c *automationv1alpha1.Cluster) bool {
				return c.Status.AppliedRenderHash != "" && c.Status.Phase == automationv1alpha1.ClusterPhasePending
			})
	}
	writes.settle(3*time.Second, 30*time.Second)
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("writes-%d", i)
		assert.LessOrEqual(t, writes.of(name), 2, "status writes of %s on first apply", name)
		assert.GreaterOrEqual(t, writes.of(name), 1, "%s's status was never written", name)
		// The finalizer and the record of applied objects go out together, ahead of the objects.
		assert.Equal(t, 1, writes.metadataOf(name), "metadata writes of %s on first apply", name)
	}

	before := writes.of("writes-0")
	setCAPIConditions(t, ns, "writes-0", map[string]metav1.ConditionStatus{
		"InfrastructureReady": metav1.ConditionTrue, "ControlPlaneInitialized": metav1.ConditionTrue})
	c := waitCluster(t, &automationv1alpha1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "writes-0"}},
		"Provisioned", inPhase(automationv1alpha1.ClusterPhaseProvisioned))
	writes.settle(3*time.Second, 30*time.Second)
	assert.Equal(t, 1, writes.of("writes-0")-before, "one ladder step, one status write; status now %+v", c.Status)
}

// The Cluster controller's one status patch never loses what the registrar wrote after the
// pass read the cluster (its EMCO record and Registered condition), whether the pass also
// changes metadata (whose patch answers with a newer resource version than the pass read) or
// only the status (whose patch then conflicts and starts again from the latest object).
func TestClusterStatusPatchKeepsTheRegistrars(t *testing.T) {
	ctx := context.Background()
	ns := clusterFixture(t)
	for _, tc := range []struct {
		name     string
		metadata bool
	}{
		{"status only", false},
		{"metadata and status", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t, ns, "keeps-"+map[bool]string{false: "status", true: "metadata"}[tc.metadata])
			waitCluster(t, c, "held by the Cluster controller", func(c *automationv1alpha1.Cluster) bool {
				return controllerutil.ContainsFinalizer(c, controllers.ClusterFinalizer) && c.Status.Phase != ""
			})
			read := lkCluster(t, c) // where the pass starts

			// The registrar writes meanwhile.
			registered := read.DeepCopy()
			conditions.MarkTrue(registered, controllers.RegisteredCondition, controllers.ReasonRegistered, "registered")
			registered.Status.EMCO = &automationv1alpha1.EMCORegistration{Endpoint: "emco", Project: ns, ClusterProvider: ns, Cluster: c.Name, Registered: true}
			require.NoError(t, env.Client.Status().Patch(ctx, registered, client.MergeFrom(read)))

			require.NoError(t, controllers.PatchClusterAsAPass(ctx, env.Client, env.Client, read, func(c *automationv1alpha1.Cluster) {
				if tc.metadata {
					c.Annotations = map[string]string{"example.com/pass": "1"}
				}
				conditions.MarkFalse(c, meta.ReadyCondition, "Checked", "a condition the Cluster controller owns")
				c.Status.WorkersVersion = "v9.9.9"
			}))

			got := lkCluster(t, c)
			assert.True(t, conditions.IsTrue(got, controllers.RegisteredCondition), "the registrar's condition stays: %+v", got.Status.Conditions)
			assert.Equal(t, registered.Status.EMCO, got.Status.EMCO, "the registrar's record stays")
		})
	}
}
