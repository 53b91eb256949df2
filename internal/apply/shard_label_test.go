package apply

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
)

// Every object a Fleet applies carries the Fleet's value of Flux's sharding label, whatever
// the document says, so the controller shard that owns the Fleet (and only it) caches them.
// A Fleet without the label applies objects without it; an Applier of no Fleet leaves
// documents as they are.
func TestShardLabelFollowsTheFleet(t *testing.T) {
	const none = "<none>"
	cases := []struct {
		name      string
		noFleet   bool   // an Applier without a Fleet
		fleetHas  string // the Fleet's ShardLabel value, or none
		docHas    string // the document's ShardLabel value, or none
		wantLabel string // on the live object, or none
	}{
		{name: "sharded Fleet, plain document", fleetHas: "shard1", docHas: none, wantLabel: "shard1"},
		{name: "sharded Fleet, document of another shard", fleetHas: "shard1", docHas: "shard2", wantLabel: "shard1"},
		{name: "unsharded Fleet, plain document", fleetHas: none, docHas: none, wantLabel: none},
		{name: "unsharded Fleet, document with a shard", fleetHas: none, docHas: "shard2", wantLabel: none},
		{name: "no Fleet keeps the document's", noFleet: true, docHas: "shard2", wantLabel: "shard2"},
		{name: "no Fleet, plain document", noFleet: true, docHas: none, wantLabel: none},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := ctxFor(t)
			a := f.applier
			if tc.noFleet {
				a = New(f.applier.client, f.cache, Options{})
			} else {
				createFleet(t, f.fleet, tc.fleetHas)
			}
			docs := smallFleet(f.ns)
			if tc.docHas != none {
				for _, d := range docs {
					d.SetLabels(mergeLabels(d.GetLabels(), map[string]string{ShardLabel: tc.docHas}))
				}
			}
			_, _, err := a.Apply(ctx, docs, nil, "main@sha1:1")
			require.NoError(t, err)
			for _, d := range docs {
				live := d.DeepCopyObject().(client.Object)
				require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(d), live))
				got, ok := live.GetLabels()[ShardLabel]
				if tc.wantLabel == none {
					assert.False(t, ok, "%T %s: %s=%q", d, d.GetName(), ShardLabel, got)
				} else {
					assert.Equal(t, tc.wantLabel, got, "%T %s", d, d.GetName())
				}
			}
		})
	}
}

// Relabelling a Fleet moves what it applied to the new shard on its next pass: one write per
// object, and none on the pass after.
func TestShardLabelMovesWithTheFleet(t *testing.T) {
	f := newFixture(t)
	ctx := ctxFor(t)
	fleet := createFleet(t, f.fleet, "shard1")
	docs := smallFleet(f.ns)
	_, inv, err := f.applier.Apply(ctx, docs, nil, "main@sha1:1")
	require.NoError(t, err)

	patch := client.MergeFrom(fleet.DeepCopy())
	fleet.Labels[ShardLabel] = "shard2"
	require.NoError(t, env.Client.Patch(ctx, fleet, patch))
	require.Eventually(t, func() bool {
		var cached automationv1alpha1.Fleet
		return f.cache.Get(ctx, f.fleet, &cached) == nil && cached.Labels[ShardLabel] == "shard2"
	}, 30*time.Second, 20*time.Millisecond)

	f.writes.reset()
	_, inv, err = f.applier.Apply(ctx, smallFleet(f.ns), inv, "main@sha1:1")
	require.NoError(t, err)
	assert.EqualValues(t, len(docs), f.writes.writes(), "one write per object")
	for _, d := range docs {
		live := d.DeepCopyObject().(client.Object)
		require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(d), live))
		assert.Equal(t, "shard2", live.GetLabels()[ShardLabel], "%T %s", d, d.GetName())
	}

	f.writes.reset()
	_, _, err = f.applier.Apply(ctx, smallFleet(f.ns), inv, "main@sha1:1")
	require.NoError(t, err)
	assert.Zero(t, f.writes.writes(), "steady state after the move")
}

func createFleet(t *testing.T, key types.NamespacedName, shard string) *automationv1alpha1.Fleet {
	t.Helper()
	fleet := &automationv1alpha1.Fleet{
		ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name, Labels: map[string]string{}},
		Spec: automationv1alpha1.FleetSpec{
			SourceRef: automationv1alpha1.SourceReference{Kind: "GitRepository", Name: "repo"},
			Interval:  metav1.Duration{Duration: time.Hour},
		},
	}
	if shard != "<none>" {
		fleet.Labels[ShardLabel] = shard
	}
	require.NoError(t, env.Client.Create(ctxFor(t), fleet))
	return fleet
}

func mergeLabels(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}
