package apply

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// A pass over the same build reuses what the last pass prepared; a new build, revision or
// shard stamp prepares again.
func TestPreparedObjectsAreReusedForTheSameBuild(t *testing.T) {
	var m preparedMemo
	calls := 0
	prepare := func(objs []client.Object, _ string, _ shardStamp) ([]desiredObject, error) {
		calls++
		return make([]desiredObject, len(objs)), nil
	}
	build := smallFleet("ns")
	sameContentOtherBuild := smallFleet("ns")

	for _, step := range []struct {
		name     string
		desired  []client.Object
		revision string
		shard    shardStamp
		calls    int
	}{
		{"first pass", build, "r1", shardStamp{}, 1},
		{"same build", build, "r1", shardStamp{}, 1},
		{"a new build of the same content", sameContentOtherBuild, "r1", shardStamp{}, 2},
		{"a new revision", sameContentOtherBuild, "r2", shardStamp{}, 3},
		{"a new shard stamp", sameContentOtherBuild, "r2", shardStamp{fleet: true, value: "b"}, 4},
		{"fewer objects of the same build", sameContentOtherBuild[:2], "r2", shardStamp{fleet: true, value: "b"}, 5},
		{"same again", sameContentOtherBuild[:2], "r2", shardStamp{fleet: true, value: "b"}, 5},
	} {
		got, err := m.get(step.desired, step.revision, step.shard, prepare)
		require.NoError(t, err)
		assert.Len(t, got, len(step.desired), step.name)
		assert.Equal(t, step.calls, calls, step.name)
	}
}

// A second pass over the same build, prepared from the memo, finds everything applied and
// returns the same inventory.
func TestApplyOverTheSameBuildIsUnchanged(t *testing.T) {
	f := newFixture(t)
	ctx := ctxFor(t)
	build := smallFleet(f.ns)
	_, inventory, err := f.applier.Apply(ctx, build, nil, "main@sha1:aaa")
	require.NoError(t, err)
	changes, again, err := f.applier.Apply(ctx, build, inventory, "main@sha1:aaa")
	require.NoError(t, err)
	assert.False(t, changes.Changed())
	assert.Equal(t, inventory, again)
}
