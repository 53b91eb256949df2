package gitstatus

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
)

// clusterState is one rung of a cluster's ladder as the Cluster controller reports it.
type clusterState struct {
	phase      automationv1alpha1.ClusterPhase
	ready      metav1.ConditionStatus
	reason     string
	stalled    bool
	version    string
	registered bool
}

const heldName = "status/starlab/cluster/edge.yaml"

// clusterDoc renders the one document of the cluster edge in state s.
func clusterDoc(t *testing.T, s clusterState, message string) []byte {
	t.Helper()
	c := lkCluster("edge", "", s.phase, s.version, s.version, false, cond("Ready", s.ready, s.reason, message))
	if s.stalled {
		c.Status.Conditions = append(c.Status.Conditions, cond("Stalled", metav1.ConditionTrue, s.reason, message))
	}
	c.Status.EMCO = nil
	if s.registered {
		c.Status.EMCO = &automationv1alpha1.EMCORegistration{Endpoint: "http://emco", ClusterProvider: "starlab", Cluster: "edge", Registered: true}
	}
	snap := seed()
	snap.Clusters, snap.LogicalClusters = []automationv1alpha1.Cluster{c}, nil
	doc := documents(t, snap)[heldName]
	require.NotNil(t, doc)
	return doc
}

var (
	pending      = clusterState{phase: automationv1alpha1.ClusterPhasePending, ready: metav1.ConditionFalse, reason: "Pending"}
	provisioning = clusterState{phase: automationv1alpha1.ClusterPhaseProvisioning, ready: metav1.ConditionFalse, reason: "Provisioning"}
	provisioned  = clusterState{phase: automationv1alpha1.ClusterPhaseProvisioned, ready: metav1.ConditionFalse, reason: "Provisioned", version: "v1.34.1"}
	ready        = clusterState{phase: automationv1alpha1.ClusterPhaseReady, ready: metav1.ConditionTrue, reason: "Succeeded", version: "v1.34.1"}
	upgrading    = clusterState{phase: automationv1alpha1.ClusterPhaseUpgrading, ready: metav1.ConditionFalse, reason: "Upgrading", version: "v1.34.1"}
)

// Which changes of a cluster's document wait while the cluster climbs, and which go to Git
// at once.
func TestHoldDecides(t *testing.T) {
	with := func(s clusterState, f func(*clusterState)) clusterState { f(&s); return s }
	for _, tc := range []struct {
		name     string
		inGit    *clusterState // nil: the document is new
		now      clusterState
		message  string
		wantHeld bool
	}{
		{name: "a new cluster appears at once", inGit: nil, now: pending},
		{name: "a rung of the bring-up waits", inGit: &pending, now: provisioning, wantHeld: true},
		{name: "the next rung waits too", inGit: &pending, now: provisioned, wantHeld: true},
		{name: "Ready goes at once", inGit: &provisioned, now: ready},
		{name: "an upgrade's start waits", inGit: &ready, now: upgrading, wantHeld: true},
		{name: "an upgrade's new version waits", inGit: &upgrading, now: with(upgrading, func(s *clusterState) { s.version = "v1.35.0" }), wantHeld: true},
		{name: "a failure goes at once", inGit: &provisioning,
			now: clusterState{phase: automationv1alpha1.ClusterPhaseFailed, ready: metav1.ConditionFalse, reason: "Failed", stalled: true}},
		{name: "an apply error while climbing goes at once", inGit: &provisioning,
			now: with(provisioning, func(s *clusterState) { s.reason = "ApplyFailed" })},
		{name: "a render stuck while climbing goes at once", inGit: &provisioning,
			now: with(provisioning, func(s *clusterState) { s.reason = "Provisioning"; s.stalled = true })},
		{name: "a wait for the rollout wave goes at once", inGit: &ready,
			now: with(provisioned, func(s *clusterState) { s.reason = "WaitingForRollout" })},
		{name: "a registration goes at once", inGit: &provisioned, now: with(provisioned, func(s *clusterState) { s.registered = true })},
		{name: "a message alone is not held (and commits nothing)", inGit: &provisioning, now: provisioning, message: "1 of 3 Machines"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tree := map[string][]byte{}
			if tc.inGit != nil {
				tree[heldName] = clusterDoc(t, *tc.inGit, "")
			}
			doc := clusterDoc(t, tc.now, tc.message)
			h := &Hold{Max: time.Minute}
			out, next := h.Filter(map[string][]byte{heldName: doc}, tree, time.Unix(100, 0))
			if tc.wantHeld {
				assert.Equal(t, string(tree[heldName]), string(out[heldName]), "Git keeps what it has")
				assert.Equal(t, time.Minute, next, "asked again when the hold ends")
				return
			}
			assert.Equal(t, string(doc), string(out[heldName]))
			assert.Zero(t, next, "nothing held, nothing to ask again for")
		})
	}
}

// A climbing cluster's document waits at most Max from the first pass that held it, then
// goes with the state of that moment; its next climb starts a new hold. With Max 0 nothing
// is held.
func TestHoldIsBounded(t *testing.T) {
	t0 := time.Unix(1000, 0)
	inGit := map[string][]byte{heldName: clusterDoc(t, pending, "")}
	h := &Hold{Max: time.Minute}

	out, next := h.Filter(map[string][]byte{heldName: clusterDoc(t, provisioning, "")}, inGit, t0)
	assert.Equal(t, string(inGit[heldName]), string(out[heldName]))
	assert.Equal(t, time.Minute, next)

	later := clusterDoc(t, provisioned, "")
	out, next = h.Filter(map[string][]byte{heldName: later}, inGit, t0.Add(40*time.Second))
	assert.Equal(t, string(inGit[heldName]), string(out[heldName]), "a later rung within the hold waits too")
	assert.Equal(t, 20*time.Second, next, "the hold runs from the first held rung, not the latest")

	out, next = h.Filter(map[string][]byte{heldName: later}, inGit, t0.Add(time.Minute))
	assert.Equal(t, string(later), string(out[heldName]), "held for Max: the state of now goes")
	assert.Zero(t, next)

	// Git now has Provisioned; the next rung is held from its own first pass.
	inGit[heldName] = later
	upgradingDoc := clusterDoc(t, upgrading, "")
	_, next = h.Filter(map[string][]byte{heldName: upgradingDoc}, inGit, t0.Add(2*time.Minute))
	assert.Equal(t, time.Minute, next)

	// A document that goes away forgets its hold; so does a Fleet's Forget.
	h.Filter(map[string][]byte{}, inGit, t0.Add(2*time.Minute))
	assert.Empty(t, h.since)

	off := &Hold{}
	docs := map[string][]byte{heldName: upgradingDoc}
	out, next = off.Filter(docs, inGit, t0)
	assert.Equal(t, string(upgradingDoc), string(out[heldName]), "Max 0 holds nothing")
	assert.Zero(t, next)
}

// Held documents stay out of the plan: while the only change is a climbing cluster's rung,
// Plan commits nothing; the Fleet's own document is never held.
func TestHoldWithPlan(t *testing.T) {
	snap := seed()
	docs := render(t, snap)
	delete(docs, "status/README.md")
	tree := committed(t, docs)

	next := seed()
	for i := range next.Clusters {
		if next.Clusters[i].Name == "seoul-edge-cluster" { // Upgrading in the seed
			next.Clusters[i].Status.ControlPlaneVersion = "v1.27.0"
			next.Clusters[i].Status.Conditions[0].Reason = "Upgrading"
		}
	}
	h := &Hold{Max: time.Minute}
	held, wait := h.Filter(documents(t, next), tree, time.Unix(0, 0))
	changes, err := Plan(DefaultDir, "starlab/starlab", held, tree)
	require.NoError(t, err)
	assert.Nil(t, changes, "a rung of an upgrade alone commits nothing while held")
	assert.Equal(t, time.Minute, wait)

	held, wait = h.Filter(documents(t, next), tree, time.Unix(60, 0))
	changes, err = Plan(DefaultDir, "starlab/starlab", held, tree)
	require.NoError(t, err)
	assert.Contains(t, string(changes["status/starlab/cluster/seoul-edge-cluster.yaml"]), "v1.27.0", "after Max it goes")
	assert.Zero(t, wait)
}
