package emco_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcn-ssu/lkaas/internal/emco"
)

// TestConcurrentRegistrations: one client shared by many reconcilers, with
// the same cluster ensured from several goroutines at once (run with -race).
func TestConcurrentRegistrations(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, "split")
	setupBasics(t, h.client)
	h.emu.AddFault(emcoFlaky())

	const clusters, racers = 8, 3
	var wg sync.WaitGroup
	errs := make(chan error, clusters*racers)
	for i := range clusters {
		name := fmt.Sprintf("edge-%d", i)
		for range racers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				reg := emco.ClusterRegistration{Provider: provider, Cluster: emco.Metadata{Name: name}, Kubeconfig: kubeconfigFor(name, "v1"), Project: project}
				if _, err := h.client.EnsureCluster(ctx, reg); err != nil {
					errs <- err
					return
				}
				if _, err := h.client.EnsureClusterLabels(ctx, provider, name, []string{"site-" + name}); err != nil {
					errs <- err
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	st := h.emu.State()
	assert.Len(t, st.Clusters, clusters, "no duplicates")
	for _, c := range st.Clusters {
		assert.Equal(t, []string{"site-" + c.Name}, c.Labels)
	}
}
