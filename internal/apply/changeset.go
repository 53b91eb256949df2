package apply

import (
	"fmt"
	"slices"
	"strings"
)

// Action is what a pass did to one object.
type Action string

const (
	// Created: the object did not exist and was applied.
	Created Action = "created"
	// Configured: the object existed and was applied, because its document changed or it
	// drifted.
	Configured Action = "configured"
	// Unchanged: the object matched its document; no request was made.
	Unchanged Action = "unchanged"
	// Deleted: the object was pruned (or was already gone).
	Deleted Action = "deleted"
	// Skipped: prune left the object alone, because another Fleet owns it now.
	Skipped Action = "skipped"
)

var actionOrder = []Action{Created, Configured, Unchanged, Deleted, Skipped}

// ChangeSetEntry is one object and what happened to it.
type ChangeSetEntry struct {
	// ID is the object's inventory ID.
	ID string
	// Subject is "Kind/namespace/name", for people.
	Subject string
	Action  Action
}

// ChangeSet lists what one Apply or Prune did, in the order it was done.
type ChangeSet struct {
	Entries []ChangeSetEntry
}

func (c *ChangeSet) add(ref ObjectRef, action Action) {
	c.Entries = append(c.Entries, ChangeSetEntry{ID: ref.ID(), Subject: ref.String(), Action: action})
}

// IDs returns the IDs of the objects that got action, in change-set order.
func (c *ChangeSet) IDs(action Action) []string {
	var ids []string
	for _, e := range c.Entries {
		if e.Action == action {
			ids = append(ids, e.ID)
		}
	}
	return ids
}

// Changed reports whether the pass wrote anything.
func (c *ChangeSet) Changed() bool {
	return slices.ContainsFunc(c.Entries, func(e ChangeSetEntry) bool { return e.Action != Unchanged })
}

// Append adds the entries of another change set (a Prune after an Apply).
func (c *ChangeSet) Append(other *ChangeSet) {
	if other != nil {
		c.Entries = append(c.Entries, other.Entries...)
	}
}

// maxNamed is how many changed objects a summary names before it only counts them.
const maxNamed = 3

// Summary is one line for an event: counts by action, and the subjects when few changed,
// e.g. "1 configured, 1059 unchanged (configured Cluster/fleet-a/edge-7)".
func (c *ChangeSet) Summary() string {
	if c == nil || len(c.Entries) == 0 {
		return "no objects"
	}
	counts := map[Action]int{}
	var changed []string
	for _, e := range c.Entries {
		counts[e.Action]++
		if e.Action != Unchanged {
			changed = append(changed, string(e.Action)+" "+e.Subject)
		}
	}
	var parts []string
	for _, a := range actionOrder {
		if counts[a] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[a], a))
		}
	}
	summary := strings.Join(parts, ", ")
	if len(changed) > 0 && len(changed) <= maxNamed {
		summary += " (" + strings.Join(changed, ", ") + ")"
	}
	return summary
}
