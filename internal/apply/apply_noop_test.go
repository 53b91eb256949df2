package apply

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The design goal: a pass over an unchanged fleet sends nothing, which the API server's own
// request counts confirm (no write, no dry run, no read of an L-KaaS object).
func TestSecondApplyWithTheSameInputMakesNoRequest(t *testing.T) {
	cases := map[string]func(f *fixture) *Applier{
		// The Applier remembers the versions it wrote and skips comparing them.
		"the same Applier": func(f *fixture) *Applier { return f.applier },
		// A new Applier (a restarted controller) compares every object with the cache.
		"a new Applier": func(f *fixture) *Applier { return New(f.applier.client, f.cache, f.applier.opts) },
	}
	for name, second := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			ctx := ctxFor(t)

			_, inventory, err := f.applier.Apply(ctx, smallFleet(f.ns), nil, "main@sha1:aaa")
			require.NoError(t, err)
			f.writes.reset()

			before := readAPIRequests(t)
			changes, next, err := second(f).Apply(ctx, smallFleet(f.ns), inventory, "main@sha1:aaa")
			require.NoError(t, err)
			seen := readAPIRequests(t).sub(before)

			assert.Equal(t, inventory, next)
			assert.Len(t, changes.IDs(Unchanged), 5)
			assert.False(t, changes.Changed())
			assert.Equal(t, "5 unchanged", changes.Summary())
			assert.Zero(t, f.writes.writes(), "client writes")
			assert.Zero(t, f.writes.reads.Load(), "client reads")
			assert.Equal(t, apiRequests{}, seen, "requests the API server saw on L-KaaS kinds")
		})
	}
}

// A new commit that does not touch an object's content does not re-apply it just to stamp the
// new revision.
func TestANewRevisionAloneRewritesNothing(t *testing.T) {
	f := newFixture(t)
	ctx := ctxFor(t)

	_, inventory, err := f.applier.Apply(ctx, smallFleet(f.ns), nil, "main@sha1:aaa")
	require.NoError(t, err)
	f.writes.reset()

	before := readAPIRequests(t)
	changes, next, err := f.applier.Apply(ctx, smallFleet(f.ns), inventory, "main@sha1:bbb")
	require.NoError(t, err)
	assert.Equal(t, inventory, next)
	assert.False(t, changes.Changed())
	assert.Zero(t, f.writes.writes())
	assert.Zero(t, readAPIRequests(t).sub(before).Writes)
}
