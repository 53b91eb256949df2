package apply

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestInventoryIDsRoundTrip(t *testing.T) {
	cases := []ObjectRef{
		{Namespace: "fleet-a", Name: "c1", GVK: schema.GroupVersionKind{Group: "automation.dcn.ssu.ac.kr", Version: "v1alpha1", Kind: "Cluster"}},
		{Namespace: "fleet-a", Name: "mec", GVK: schema.GroupVersionKind{Group: "intent.automation.dcn.ssu.ac.kr", Version: "v1", Kind: "LogicalCluster"}},
		{Namespace: "fleet-a", Name: "vars", GVK: schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}},
		{Name: "fleet-a", GVK: schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}},
	}
	for _, ref := range cases {
		t.Run(ref.ID(), func(t *testing.T) {
			got, err := ParseEntry(InventoryEntry{ID: ref.ID(), Version: ref.GVK.Version})
			require.NoError(t, err)
			assert.Equal(t, ref, got)
		})
	}
	assert.Equal(t, "fleet-a_c1_automation.dcn.ssu.ac.kr_Cluster", cases[0].ID())
	assert.Equal(t, "fleet-a_vars__ConfigMap", cases[2].ID())
}

func TestParseEntryRefusesMalformedEntries(t *testing.T) {
	for _, e := range []InventoryEntry{
		{ID: "a_b_c", Version: "v1"},
		{ID: "a_b_c_d_e", Version: "v1"},
		{ID: "ns__group_Kind", Version: "v1"},
		{ID: "ns_name_group_Kind"},
	} {
		_, err := ParseEntry(e)
		assert.Error(t, err, e.ID)
	}
}

func TestStaleIsWhatPrevHasAndNextLacks(t *testing.T) {
	e := func(id, v string) InventoryEntry { return InventoryEntry{ID: id, Version: v, Hash: "h"} }
	cases := []struct {
		name       string
		prev, next []InventoryEntry
		want       []InventoryEntry
	}{
		{name: "nothing before", next: []InventoryEntry{e("a", "v1")}},
		{name: "nothing removed", prev: []InventoryEntry{e("a", "v1")}, next: []InventoryEntry{e("a", "v1")}},
		{name: "a new version is the same object", prev: []InventoryEntry{e("a", "v1")}, next: []InventoryEntry{e("a", "v2")}},
		{
			name: "removed, sorted", prev: []InventoryEntry{e("c", "v1"), e("a", "v1"), e("b", "v1")}, next: []InventoryEntry{e("b", "v1")},
			want: []InventoryEntry{e("a", "v1"), e("c", "v1")},
		},
		{name: "everything removed", prev: []InventoryEntry{e("a", "v1")}, want: []InventoryEntry{e("a", "v1")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, Stale(tc.prev, tc.next))
		})
	}
}
