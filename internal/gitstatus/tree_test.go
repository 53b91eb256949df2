package gitstatus

import (
	"maps"
	"testing"
)

// The terminal tree of `lkaas status`, for the seed and for two Fleets in one directory.
func TestTreeGolden(t *testing.T) {
	seedDocs := render(t, seed())
	both := maps.Clone(seedDocs)
	maps.Copy(both, render(t, kaist()))
	golden(t, "tree", map[string][]byte{
		"seed.txt":       []byte(Tree("status/", seedDocs)),
		"two-fleets.txt": []byte(Tree("status/", both)),
	})
}
