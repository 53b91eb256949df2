package apply

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestChangeSetSummary(t *testing.T) {
	set := func(actions ...Action) *ChangeSet {
		c := &ChangeSet{}
		for i, a := range actions {
			c.Entries = append(c.Entries, ChangeSetEntry{ID: fmt.Sprint(i), Subject: fmt.Sprintf("Cluster/ns/c%d", i), Action: a})
		}
		return c
	}
	cases := []struct {
		name string
		set  *ChangeSet
		want string
	}{
		{name: "empty", set: &ChangeSet{}, want: "no objects"},
		{name: "no-op", set: set(Unchanged, Unchanged), want: "2 unchanged"},
		{name: "few changes are named", set: set(Created, Unchanged, Configured), want: "1 created, 1 configured, 1 unchanged (created Cluster/ns/c0, configured Cluster/ns/c2)"},
		{name: "many changes are counted", set: set(Created, Created, Created, Created, Deleted), want: "4 created, 1 deleted"},
		{name: "skipped prunes", set: set(Deleted, Skipped), want: "1 deleted, 1 skipped (deleted Cluster/ns/c0, skipped Cluster/ns/c1)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.set.Summary())
		})
	}
}
