package controllers

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

func TestBoundNote(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
	}{
		{"short", "applied"},
		{"exactly the limit", strings.Repeat("a", maxEventNote)},
		{"long ASCII", strings.Repeat("a", 5000)},
		{"long multibyte", strings.Repeat("가", 2000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := boundNote(tc.in)
			assert.LessOrEqual(t, len(got), maxEventNote)
			assert.True(t, utf8.ValidString(got))
			if len(tc.in) <= maxEventNote {
				assert.Equal(t, tc.in, got)
			} else {
				assert.Contains(t, got, "full text is in the object's status")
			}
		})
	}
}
