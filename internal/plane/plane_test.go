package plane

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A plane tool that is not built is an error that says how to build it, not a build of
// minutes inside a test.
func TestBuiltToolPathSaysHowToBuildAMissingTool(t *testing.T) {
	t.Setenv("LKAAS_TOOLS_DIR", t.TempDir())
	_, err := BuiltToolPath("source-controller")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "make e2e-tools")

	_, err = BuiltToolPath("no-such-tool")
	assert.Error(t, err)
}

func TestBuiltToolPathFindsABuiltTool(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("LKAAS_TOOLS_DIR", dir)
	want := filepath.Join(dir, "source-controller", FluxSourceControllerVersion, "source-controller")
	require.NoError(t, os.MkdirAll(filepath.Dir(want), 0o755))
	require.NoError(t, os.WriteFile(want, []byte("#!/bin/sh\n"), 0o755))
	got, err := BuiltToolPath("source-controller")
	require.NoError(t, err)
	assert.Equal(t, want, got)
}
