package controllers

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"k8s.io/apimachinery/pkg/types"
)

func TestRolloutStartsWaitOnceForTheChangeToSettle(t *testing.T) {
	var s rolloutStarts
	lc := types.NamespacedName{Namespace: "starlab", Name: "mec-cluster"}
	t0 := time.Unix(1000, 0)

	assert.Equal(t, 2*time.Second, s.hold(lc, t0, 2*time.Second), "a new change waits")
	assert.Equal(t, time.Second, s.hold(lc, t0.Add(time.Second), 2*time.Second))
	assert.Zero(t, s.hold(lc, t0.Add(2*time.Second), 2*time.Second), "then it starts")
	assert.Zero(t, s.hold(lc, t0.Add(10*time.Second), 2*time.Second), "no wait between waves")

	s.idle(lc)
	assert.Equal(t, 2*time.Second, s.hold(lc, t0.Add(20*time.Second), 2*time.Second), "the next rollout waits again")
	other := types.NamespacedName{Namespace: "starlab", Name: "other"}
	assert.Equal(t, 2*time.Second, s.hold(other, t0.Add(20*time.Second), 2*time.Second), "per logical cluster")
}
