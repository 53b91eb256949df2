package gitstatus

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParseTrailers(t *testing.T) {
	tests := []struct {
		name, message, fleet, revision string
	}{
		{"trailers", "status: edge\n\nupdate status/a.yaml\n\nFleet: edge/edge\nSource-Revision: main@sha1:abc\n", "edge/edge", "main@sha1:abc"},
		{"trailers after a custom subject", "mine\n\nFleet: a/b\nSource-Revision: sha1:def", "a/b", "sha1:def"},
		{"no revision yet", "s\n\nFleet: a/b\n", "a/b", ""},
		{"the default subject of older commits", "lkaas: status of Fleet edge/edge at main@sha1:abc\n\nupdate x\n", "edge/edge", "main@sha1:abc"},
		{"the default subject without a revision", "lkaas: status of Fleet edge/edge at no applied revision\n", "edge/edge", ""},
		{"trailer-like text in the body only", "human: notes\n\nFleet: not/this\n\nthanks", "", ""},
		{"a person's commit", "human: review notes\n", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fleet, revision := parseTrailers(tc.message)
			assert.Equal(t, tc.fleet, fleet)
			assert.Equal(t, tc.revision, revision)
		})
	}
}
