package emco_test

import (
	"bytes"
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcn-ssu/lkaas/internal/emco"
	"github.com/dcn-ssu/lkaas/internal/emco/emcotest"
)

// TestSecretsStayOutOfErrorsAndLogs: even a server that echoes the bearer
// token and kubeconfig into its error text cannot leak them through the client.
func TestSecretsStayOutOfErrorsAndLogs(t *testing.T) {
	const token = "s3cr3t-bearer-token-value"
	kubeconfig := kubeconfigFor("c1", "v1")
	var logs bytes.Buffer
	h := newHarness(t, "ingress", func(o *emco.Options) {
		o.BearerToken = token
		o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		o.Retry.MaxAttempts = 2
	})
	setupBasics(t, h.client)
	echo := "bad request from Bearer " + token + "\n" + string(kubeconfig)
	cases := map[string]emcotest.Fault{
		"4xx echo":       {Method: "POST", Status: 400, Body: echo, Times: 1},
		"5xx echo":       {Method: "POST", Status: 500, Body: echo},
		"partial echo":   {Method: "POST", Status: 422, Body: "line: token: secret-token-c1-v1", Times: 1},
		"dropped answer": {Method: "POST", Drop: true},
	}
	for name, fault := range cases {
		t.Run(name, func(t *testing.T) {
			h.emu.ClearFaults()
			h.emu.AddFault(fault)
			err := h.client.CreateCluster(context.Background(), provider, emco.Cluster{Metadata: emco.Metadata{Name: "c1"}}, kubeconfig)
			require.Error(t, err)
			for _, text := range []string{err.Error(), logs.String()} {
				assert.NotContains(t, text, token)
				assert.NotContains(t, text, "secret-token-c1-v1")
				assert.NotContains(t, text, "server: https://c1.example:6443")
			}
		})
	}
	h.emu.ClearFaults()
	_, err := h.client.EnsureCluster(context.Background(), emco.ClusterRegistration{Provider: provider, Cluster: emco.Metadata{Name: "c1"}, Kubeconfig: kubeconfig})
	require.NoError(t, err)
	assert.NotContains(t, logs.String(), token)
	assert.Contains(t, logs.String(), "emco call", "calls are logged, without secrets")
}
