package apply

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
)

// InventoryEntry is the Fleet status type, aliased so callers need one import less.
type InventoryEntry = automationv1alpha1.InventoryEntry

// ObjectRef names one object: what an inventory ID encodes, plus its version.
type ObjectRef struct {
	Namespace string
	Name      string
	GVK       schema.GroupVersionKind
}

// ID is the inventory ID "<namespace>_<name>_<group>_<kind>", Flux's object-metadata format.
// Names, namespaces, groups and kinds cannot contain "_", so the ID splits back unambiguously.
func (r ObjectRef) ID() string {
	return r.Namespace + "_" + r.Name + "_" + r.GVK.Group + "_" + r.GVK.Kind
}

// String is "Kind/namespace/name", the subject in change sets and errors.
func (r ObjectRef) String() string {
	if r.Namespace == "" {
		return r.GVK.Kind + "/" + r.Name
	}
	return r.GVK.Kind + "/" + r.Namespace + "/" + r.Name
}

// ParseEntry turns an inventory entry back into the object it names.
func ParseEntry(e InventoryEntry) (ObjectRef, error) {
	parts := strings.Split(e.ID, "_")
	if len(parts) != 4 || parts[1] == "" || parts[3] == "" {
		return ObjectRef{}, fmt.Errorf("inventory ID %q is not <namespace>_<name>_<group>_<kind>", e.ID)
	}
	if e.Version == "" {
		return ObjectRef{}, fmt.Errorf("inventory entry %q has no version", e.ID)
	}
	return ObjectRef{
		Namespace: parts[0],
		Name:      parts[1],
		GVK:       schema.GroupVersionKind{Group: parts[2], Version: e.Version, Kind: parts[3]},
	}, nil
}

// Stale returns the entries of prev whose object is not in next: what a prune deletes.
// An object whose version changed is the same object, not a stale one.
func Stale(prev, next []InventoryEntry) []InventoryEntry {
	keep := make(map[string]bool, len(next))
	for _, e := range next {
		keep[e.ID] = true
	}
	var stale []InventoryEntry
	for _, e := range prev {
		if !keep[e.ID] {
			stale = append(stale, e)
		}
	}
	sortEntries(stale)
	return stale
}

// sortEntries orders entries by ID, so an unchanged fleet writes an identical status.
func sortEntries(entries []InventoryEntry) {
	slices.SortFunc(entries, func(a, b InventoryEntry) int { return strings.Compare(a.ID, b.ID) })
}

func entriesByID(entries []InventoryEntry) map[string]InventoryEntry {
	m := make(map[string]InventoryEntry, len(entries))
	for _, e := range entries {
		m[e.ID] = e
	}
	return m
}
