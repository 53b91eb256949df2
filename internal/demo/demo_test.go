package demo_test

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcn-ssu/lkaas/internal/demo"
)

// The demo starts a real plane, has two Fleets apply the example repository from a Flux
// artifact, tells how to reach it and tears down.
func TestDemoAppliesTheExampleRepositoryThroughFleets(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a kube-apiserver")
	}
	var out bytes.Buffer
	state := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	require.NoError(t, demo.Run(ctx, demo.Options{StateDir: state, Out: &out}))

	text := out.String()
	assert.Regexp(t, `both Fleets applied revision main@sha256:[0-9a-f]{12}`, text)
	assert.Contains(t, text, "The management plane is up.")
	assert.Contains(t, text, "export KUBECONFIG="+filepath.Join(state, "kubeconfig"))
	assert.Contains(t, text, "==> tearing down")
	assert.FileExists(t, filepath.Join(state, "kubeconfig"))
}
