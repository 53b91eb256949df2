package main

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A malformed --watch-label-selector is a usage error that names the flag and shows a valid
// selector, before the controller looks for a cluster.
func TestControllerRejectsBadWatchLabelSelector(t *testing.T) {
	t.Setenv("KUBECONFIG", "/nonexistent") // had the flag been accepted, the kubeconfig would fail instead
	root := newRootCommand()
	root.SetArgs([]string{"controller", "--watch-label-selector=sharding.fluxcd.io/key in shard1"})
	root.SilenceErrors, root.SilenceUsage = true, true
	err := root.Execute()
	require.Error(t, err)
	var usage usageError
	assert.True(t, errors.As(err, &usage), "a usage error (exit code %d): %v", exitUsage, err)
	assert.ErrorContains(t, err, `invalid --watch-label-selector "sharding.fluxcd.io/key in shard1"`)
	assert.ErrorContains(t, err, "sharding.fluxcd.io/key=shard1")
}
