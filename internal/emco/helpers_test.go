package emco_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dcn-ssu/lkaas/internal/emco"
	"github.com/dcn-ssu/lkaas/internal/emco/emcotest"
)

// sleepRecorder replaces the retry sleep so tests run instantly and can check the backoff.
type sleepRecorder struct {
	mu     sync.Mutex
	delays []time.Duration
}

func (s *sleepRecorder) sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delays = append(s.delays, d)
	return nil
}

func (s *sleepRecorder) recorded() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.delays...)
}

type harness struct {
	emu    *emcotest.Emulator
	client *emco.Client
	sleeps *sleepRecorder
}

// newHarness serves the emulator on one URL (mode "ingress") or one per
// service (mode "split") and builds a client for it.
func newHarness(t *testing.T, mode string, tweak ...func(*emco.Options)) harness {
	t.Helper()
	var (
		emu       *emcotest.Emulator
		endpoints emco.Endpoints
	)
	if mode == "split" {
		var urls emcotest.URLs
		emu, urls = emcotest.StartSplit(t)
		endpoints = emco.Endpoints{Orchestrator: urls.Orchestrator, CLM: urls.CLM, DCM: urls.DCM}
	} else {
		var url string
		emu, url = emcotest.Start(t)
		endpoints = emco.SingleEndpoint(url)
	}
	sleeps := &sleepRecorder{}
	opts := emco.Options{Endpoints: endpoints, Timeout: 5 * time.Second, Retry: emco.RetryPolicy{Sleep: sleeps.sleep}}
	for _, f := range tweak {
		f(&opts)
	}
	c, err := emco.New(opts)
	require.NoError(t, err)
	return harness{emu: emu, client: c, sleeps: sleeps}
}

var modes = []string{"ingress", "split"}

const (
	project  = "proj1"
	provider = "tenant-a"
)

func kubeconfigFor(name, version string) []byte {
	return []byte("apiVersion: v1\nkind: Config\nclusters:\n- name: " + name + "\n  cluster:\n    server: https://" + name + ".example:6443\n" +
		"users:\n- name: admin\n  user:\n    token: secret-token-" + name + "-" + version + "\n")
}

// setupBasics registers project, rsync and the provider.
func setupBasics(t *testing.T, c *emco.Client) {
	t.Helper()
	ctx := context.Background()
	_, err := c.EnsureProject(ctx, emco.Project{Metadata: emco.Metadata{Name: project}})
	require.NoError(t, err)
	_, err = c.EnsureRsyncController(ctx, "rsync.emco.svc", 9031)
	require.NoError(t, err)
	_, err = c.EnsureClusterProvider(ctx, emco.ClusterProvider{Metadata: emco.Metadata{Name: provider}})
	require.NoError(t, err)
}

func registerCluster(t *testing.T, c *emco.Client, name string) {
	t.Helper()
	_, err := c.EnsureCluster(context.Background(), emco.ClusterRegistration{
		Provider: provider, Cluster: emco.Metadata{Name: name}, Kubeconfig: kubeconfigFor(name, "v1"), Project: project,
	})
	require.NoError(t, err)
}

func ref(cluster string) emco.ClusterReference {
	return emco.ClusterReference{
		Metadata: emco.Metadata{Name: cluster},
		Spec:     emco.ClusterReferenceSpec{ClusterProvider: provider, Cluster: cluster, LoadBalancerIP: "0.0.0.0"},
	}
}

// emcoFlaky fails a few requests with 500 to mix retries into concurrent traffic. Fewer
// than the client's 5 attempts: one unlucky call may meet every failure and must still win.
func emcoFlaky() emcotest.Fault { return emcotest.Fault{Status: 500, Times: 4} }
