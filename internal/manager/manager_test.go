package manager_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/fluxcd/pkg/runtime/logger"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcn-ssu/lkaas/internal/manager"
	"github.com/dcn-ssu/lkaas/internal/plane"
	"github.com/dcn-ssu/lkaas/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	testenv.Run(m, &env, plane.WithFluxSourceCRDs(), plane.WithClusterAPICRDs(), plane.WithCAPDCRDs())
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

func get(url string) (int, string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// The manager serves health probes and Prometheus metrics against a real API server, and
// stops cleanly when its context ends.
func TestManagerServesProbesAndMetrics(t *testing.T) {
	opts := manager.Options{MetricsAddr: freeAddr(t), HealthAddr: freeAddr(t)}
	opts.Logger = logger.Options{LogEncoding: "console", LogLevel: "error"}
	mgr, err := manager.New(env.Config, opts)
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()

	for _, path := range []string{"/healthz", "/readyz"} {
		url := fmt.Sprintf("http://%s%s", opts.HealthAddr, path)
		require.Eventually(t, func() bool {
			code, _, err := get(url)
			return err == nil && code == http.StatusOK
		}, 30*time.Second, 100*time.Millisecond, "probe %s", path)
	}

	// The metrics server starts beside the probes, not before them: wait for it too.
	var body string
	require.Eventually(t, func() bool {
		code, b, err := get(fmt.Sprintf("http://%s/metrics", opts.MetricsAddr))
		body = b
		return err == nil && code == http.StatusOK
	}, 30*time.Second, 100*time.Millisecond, "metrics")
	assert.Contains(t, body, "rest_client_requests_total", "controller-runtime's client metrics are exported")

	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(time.Minute):
		t.Fatal("manager did not stop")
	}
}

// With --web-addr the manager serves the status page from its cache, on every replica, and
// stops it with the manager.
func TestManagerServesTheStatusPage(t *testing.T) {
	addr := make(chan string, 1)
	opts := manager.Options{MetricsAddr: "0", HealthAddr: "0", SkipNameValidation: true,
		WebAddr: "127.0.0.1:0", WebListening: func(a string) { addr <- a }}
	opts.Logger = logger.Options{LogEncoding: "console", LogLevel: "error"}
	mgr, err := manager.New(env.Config, opts)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()

	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case err := <-done:
		t.Fatalf("manager stopped: %v", err)
	}
	code, body, err := get(base + "/")
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "<h1>Overview</h1>")

	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(time.Minute):
		t.Fatal("manager did not stop")
	}
}
