package gitstatus

import (
	"bytes"
	"slices"
	"sync"
	"time"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
)

// Hold keeps a cluster's climbing steps out of Git while it climbs: a cluster that is on its
// way up or through an upgrade (Pending, Provisioning, Provisioned, Upgrading, with Ready
// False for that very reason) changes its document at every rung of the ladder, and a
// reviewer follows where it started and where it arrived, not each rung. Its document in Git
// stays as it is until the cluster settles (Ready, Failed, a failure reason, a wait for its
// wave, a refusal), until something a reviewer follows at once changes (its EMCO
// registration), or until the cluster has been held for Max; the document then commits with
// the state the cluster has at that moment. A document that appears or goes is never held.
//
// Hold only delays: the state it holds back reaches Git at the latest Max after it was
// first seen, and at once when the cluster settles. The caller asks again when Filter says
// (next), so a cluster that stops changing while held still gets its last state written.
type Hold struct {
	// Max bounds how long a cluster's climbing steps stay out of Git; 0 holds nothing.
	Max time.Duration

	mu sync.Mutex
	// since is, per held document (by path), when its held state was first seen.
	since map[string]time.Time
}

// climbingPhases are the phases of a cluster on its way somewhere (ClusterPhases).
var climbingPhases = []string{
	string(automationv1alpha1.ClusterPhasePending), string(automationv1alpha1.ClusterPhaseProvisioning),
	string(automationv1alpha1.ClusterPhaseProvisioned), string(automationv1alpha1.ClusterPhaseUpgrading),
}

// climbing reports whether a status document is a cluster on a rung of its ladder: a climbing
// phase, Ready False for the reason of that phase (the Cluster controller's progress report;
// a failure, a wave wait or a refusal has another reason), and nothing Stalled.
func climbing(doc []byte) bool {
	d, ok := parse(doc)
	if !ok || d.Kind != automationv1alpha1.ClusterKind || !slices.Contains(climbingPhases, d.Status.Phase) {
		return false
	}
	progressing := false
	for _, c := range d.Status.Conditions {
		switch {
		case c.Type == "Stalled" && c.Status == "True":
			return false
		case c.Type == "Ready":
			progressing = c.Status == "False" && c.Reason == d.Status.Phase
		}
	}
	return progressing
}

// registration is the EMCO part of a cluster document (nil without one).
func registration(doc []byte) any {
	d, ok := parse(doc)
	if !ok || d.Status.EMCO == nil {
		return nil
	}
	return *d.Status.EMCO
}

// Filter returns docs with every held cluster document replaced by what tree (the status
// branch) has, and how long until the first hold ends (0 when nothing is held). now is the
// time of this pass; a document is held from the first pass that held it.
func (h *Hold) Filter(docs, tree map[string][]byte, now time.Time) (map[string][]byte, time.Duration) {
	if h == nil || h.Max <= 0 {
		return docs, 0
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.since == nil {
		h.since = map[string]time.Time{}
	}
	out := make(map[string][]byte, len(docs))
	var next time.Duration
	held := map[string]bool{}
	for name, doc := range docs {
		out[name] = doc
		have, inGit := tree[name]
		if !inGit || bytes.Equal(have, doc) || bytes.Equal(decisionForm(have), decisionForm(doc)) ||
			!climbing(doc) || registration(have) != registration(doc) {
			continue // new, unchanged in state, settled, or a registration: it goes as it is
		}
		since, ok := h.since[name]
		if !ok {
			since = now
		}
		left := since.Add(h.Max).Sub(now)
		if left <= 0 {
			continue // held long enough: the state it has now goes to Git
		}
		out[name] = have
		held[name] = true
		h.since[name] = since
		if next == 0 || left < next {
			next = left
		}
	}
	for name := range h.since {
		if !held[name] {
			delete(h.since, name) // written, settled or gone: its next climb starts a new hold
		}
	}
	return out, next
}

// Forget drops what the hold remembers (the Fleet is gone or writes no status any more).
func (h *Hold) Forget() {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.since = nil
}
