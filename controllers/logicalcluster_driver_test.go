package controllers_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
	"github.com/dcn-ssu/lkaas/internal/testenv"
)

const baseVersion = "v1.34.1"

// statusDriver plays the Cluster controller for the member Clusters of one namespace, through
// the status subresource: a member's render hash is a hash of its spec; a first render is
// applied at once, a changed one only once the member's permit equals it, and a permitted
// member is Ready on the new version after Delay (or Failed, or never, as told). It records
// the permits in the order it saw them and the most members permitted-and-not-done at once.
type statusDriver struct {
	t     testing.TB
	e     *testenv.Env
	ns    string
	delay time.Duration

	mu          sync.Mutex
	fail        map[string]string // member → the message it fails with on a permitted change
	hang        map[string]bool   // member never finishes a permitted change
	permits     []string
	permitAt    map[string]time.Time
	doneAt      map[string]time.Time
	maxInFlight int

	stop func()
}

func startStatusDriver(t testing.TB, e *testenv.Env, ns string, delay time.Duration) *statusDriver {
	t.Helper()
	d := &statusDriver{t: t, e: e, ns: ns, delay: delay, fail: map[string]string{}, hang: map[string]bool{},
		permitAt: map[string]time.Time{}, doneAt: map[string]time.Time{}}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for ctx.Err() == nil {
			d.tick(ctx)
			time.Sleep(10 * time.Millisecond)
		}
	}()
	d.stop = func() { cancel(); <-stopped }
	t.Cleanup(d.stop)
	return d
}

func (d *statusDriver) failing(member, message string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.fail[member] = message
}

func (d *statusDriver) heal(member string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.fail, member)
}

func (d *statusDriver) hanging(member string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.hang[member] = true
}

// observed returns the permit order and the max concurrency seen so far.
func (d *statusDriver) observed() ([]string, int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.permits...), d.maxInFlight
}

func (d *statusDriver) times(member string) (permitted, done time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.permitAt[member], d.doneAt[member]
}

func renderHashOf(c *automationv1alpha1.Cluster) string {
	b, _ := json.Marshal(c.Spec)
	return fmt.Sprintf("%x", sha256.Sum256(b))[:16]
}

func versionOf(c *automationv1alpha1.Cluster) string {
	var o struct {
		KubernetesVersion string `json:"kubernetesVersion"`
	}
	if c.Spec.Override != nil {
		_ = json.Unmarshal(c.Spec.Override.Raw, &o)
	}
	if o.KubernetesVersion == "" {
		return baseVersion
	}
	return o.KubernetesVersion
}

// memberDone is the rollout's definition of done, seen from outside.
func memberDone(c *automationv1alpha1.Cluster) bool {
	return c.Status.Phase == automationv1alpha1.ClusterPhaseReady && c.Status.AppliedRenderHash == c.Status.RenderHash &&
		conditions.IsReady(c) && c.Status.ObservedGeneration == c.Generation
}

func (d *statusDriver) tick(ctx context.Context) {
	var list automationv1alpha1.ClusterList
	if err := d.e.Client.List(ctx, &list, client.InNamespace(d.ns)); err != nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	inFlight := 0
	for i := range list.Items {
		c := &list.Items[i]
		// Judged on the render of the member's current spec: a member whose spec just changed
		// holds an old permit and is not in flight, even before its status catches up.
		hash := renderHashOf(c)
		if c.Annotations[automationv1alpha1.RolloutPermitAnnotation] == hash && !(memberDone(c) && c.Status.AppliedRenderHash == hash) {
			inFlight++
		}
	}
	d.maxInFlight = max(d.maxInFlight, inFlight)

	now := time.Now()
	for i := range list.Items {
		c := &list.Items[i]
		before := c.Status.DeepCopy()
		s := &c.Status
		hash := renderHashOf(c)
		s.RenderHash, s.ObservedGeneration = hash, c.Generation
		permitted := c.Annotations[automationv1alpha1.RolloutPermitAnnotation] == hash
		switch {
		case s.AppliedRenderHash == "": // first render: no permit needed
			s.AppliedRenderHash = hash
			d.finish(c)
		case s.AppliedRenderHash != hash && permitted:
			s.AppliedRenderHash = hash
			d.permits = append(d.permits, c.Name)
			d.permitAt[c.Name] = now
			if msg, ok := d.fail[c.Name]; ok {
				s.Phase = automationv1alpha1.ClusterPhaseFailed
				conditions.MarkFalse(c, meta.ReadyCondition, "UpgradeFailed", "%s", msg)
				conditions.MarkFalse(c, "Available", "UpgradeFailed", "%s", msg)
			} else {
				s.Phase = automationv1alpha1.ClusterPhaseUpgrading
				conditions.MarkFalse(c, meta.ReadyCondition, "Upgrading", "upgrading to %s", versionOf(c))
			}
		case s.Phase == automationv1alpha1.ClusterPhaseUpgrading && s.AppliedRenderHash == hash &&
			!d.hang[c.Name] && now.Sub(d.permitAt[c.Name]) >= d.delay:
			d.finish(c)
			d.doneAt[c.Name] = now
		}
		if !assert.ObjectsAreEqual(before, &c.Status) {
			_ = d.e.Client.Status().Update(ctx, c) // a conflict is retried on the next tick
		}
	}
}

func (d *statusDriver) finish(c *automationv1alpha1.Cluster) {
	c.Status.Phase = automationv1alpha1.ClusterPhaseReady
	c.Status.ControlPlaneVersion = versionOf(c)
	conditions.MarkTrue(c, meta.ReadyCondition, meta.SucceededReason, "running %s", versionOf(c))
	conditions.MarkTrue(c, "Available", "Available", "available")
}

// mecCluster is the seed's mec-cluster: a central cluster in wave 0 and three edge sites in
// wave 1.
func mecCluster(ns string, maxUnavailable intstr.IntOrString, timeout time.Duration) *intentv1.LogicalCluster {
	member := func(name, location string, wave int32) intentv1.MemberCluster {
		return intentv1.MemberCluster{Name: name, ClusterCatalog: "openstack-medium-catalog", Wave: wave, Labels: map[string]string{
			automationv1alpha1.LocationLabel:  location,
			automationv1alpha1.ManagedByLabel: "emco-mec-central-mgmt",
		}}
	}
	lc := &intentv1.LogicalCluster{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "mec-cluster"},
		Spec: intentv1.LogicalClusterSpec{
			Tenant: "starlab",
			Clusters: []intentv1.MemberCluster{
				member("central-cluster", "kr-seoul", 0),
				member("seoul-edge-cluster", "kr-seoul", 1),
				member("busan-edge-cluster", "kr-busan", 1),
				member("gwangju-edge-cluster", "kr-gwangju", 1),
			},
			Rollout: &intentv1.Rollout{MaxUnavailable: &maxUnavailable},
		},
	}
	if timeout > 0 {
		lc.Spec.Rollout.Timeout = &metav1.Duration{Duration: timeout}
	}
	return lc
}

func lcState(t testing.TB, e *testenv.Env, lc *intentv1.LogicalCluster) *intentv1.LogicalCluster {
	t.Helper()
	got := &intentv1.LogicalCluster{}
	require.NoError(t, e.Client.Get(context.Background(), client.ObjectKeyFromObject(lc), got))
	return got
}

// waitLogicalCluster waits until cond holds for the LogicalCluster and returns it.
func waitLogicalCluster(t testing.TB, e *testenv.Env, lc *intentv1.LogicalCluster, what string, cond func(*intentv1.LogicalCluster) bool) *intentv1.LogicalCluster {
	t.Helper()
	var got *intentv1.LogicalCluster
	deadline := time.Now().Add(defaultWait)
	for {
		got = lcState(t, e, lc)
		if cond(got) {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("LogicalCluster never %s; status: %+v", what, got.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func allReady(lc *intentv1.LogicalCluster) bool {
	return lc.Status.ObservedGeneration == lc.Generation && conditions.IsReady(lc) &&
		lc.Status.ReadyMembers == lc.Status.TotalMembers && lc.Status.CurrentWave == nil
}

// setVersion sets kubernetesVersion in the override of every member: one change, all members.
func setVersion(t testing.TB, e *testenv.Env, lc *intentv1.LogicalCluster, version string) {
	t.Helper()
	cur := lcState(t, e, lc)
	p := client.MergeFrom(cur.DeepCopy())
	for i := range cur.Spec.Clusters {
		cur.Spec.Clusters[i].Override = &apiextensionsv1.JSON{Raw: []byte(`{"kubernetesVersion":"` + version + `"}`)}
	}
	require.NoError(t, e.Client.Patch(context.Background(), cur, p))
}

func memberCluster(t testing.TB, e *testenv.Env, ns, name string) *automationv1alpha1.Cluster {
	t.Helper()
	c := &automationv1alpha1.Cluster{}
	require.NoError(t, e.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, c))
	return c
}

// memberNames lists the members of a namespace that are not being deleted, sorted.
func memberNames(t testing.TB, e *testenv.Env, ns string) []string {
	t.Helper()
	var list automationv1alpha1.ClusterList
	require.NoError(t, e.Client.List(context.Background(), &list, client.InNamespace(ns)))
	var names []string
	for _, c := range list.Items {
		if c.DeletionTimestamp.IsZero() {
			names = append(names, c.Name)
		}
	}
	sort.Strings(names)
	return names
}
