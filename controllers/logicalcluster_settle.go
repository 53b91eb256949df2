package controllers

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// DefaultRolloutSettle is how long a LogicalCluster waits, once a change shows up, before it
// starts rolling it.
const DefaultRolloutSettle = 2 * time.Second

// rolloutStarts holds back the first permit of a rollout for a settle time. A change of a
// shared input (a catalog, a profile) reaches the members one by one, as the Cluster
// controller re-renders each; planning at the first of them would start with whichever member
// happened to re-render first rather than the lowest wave. Between the waves of a rollout
// that has started there is no wait. The state is in memory: after a restart a rollout in
// progress has members in flight and needs none, and a new one simply waits again.
type rolloutStarts struct {
	mu      sync.Mutex
	seen    map[types.NamespacedName]time.Time
	started map[types.NamespacedName]bool
}

// hold says how much longer the first permits of lc's rollout must wait; zero lets them go.
func (s *rolloutStarts) hold(lc types.NamespacedName, now time.Time, settle time.Duration) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started[lc] {
		return 0
	}
	if s.seen == nil {
		s.seen, s.started = map[types.NamespacedName]time.Time{}, map[types.NamespacedName]bool{}
	}
	first, ok := s.seen[lc]
	if !ok {
		s.seen[lc], first = now, now
	}
	if left := first.Add(settle).Sub(now); left > 0 {
		return left
	}
	s.started[lc] = true
	return 0
}

// idle forgets lc's rollout: nothing waits and nothing is in flight.
func (s *rolloutStarts) idle(lc types.NamespacedName) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.seen, lc)
	delete(s.started, lc)
}
