package examples

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcn-ssu/lkaas/internal/demo"
	"github.com/dcn-ssu/lkaas/internal/fleetrepo"
)

// The repository `make demo` and the end-to-end tests push builds without a problem, as
// `lkaas validate` would run it: four members on the in-memory catalog, every one rendered.
func TestMecDemoRepositoryIsValid(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, demo.WriteMecRepository(dir))

	build, err := fleetrepo.BuildDir(context.Background(), dir, fleetrepo.Options{Render: true})
	require.NoError(t, err)
	require.Len(t, build.Plans, 4, "one plan per member")
	assert.Empty(t, build.Unrendered)
	for _, member := range []string{"central-cluster", "seoul-edge-cluster", "busan-edge-cluster", "gwangju-edge-cluster"} {
		assert.NotEmpty(t, build.Rendered[demo.Namespace+"/"+member], "%s rendered", member)
	}
}
