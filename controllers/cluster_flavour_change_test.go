package controllers_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
)

// A worker change gives the machine template a new content name; the old one is deleted once
// the new one is applied. Afterwards a pass over the unchanged cluster writes nothing.
func TestClusterFlavourChangeAndSteadyState(t *testing.T) {
	ctx := context.Background()
	ns := clusterFixture(t)
	c := newCluster(t, ns, "flavour")
	waitCluster(t, c, "applied", func(c *automationv1alpha1.Cluster) bool { return c.Status.AppliedRenderHash != "" })
	before := templateNames(t, ns)
	require.Len(t, before, 2)

	var list automationv1alpha1.InfrastructureProfileList
	require.NoError(t, env.Client.List(ctx, &list))
	for i := range list.Items {
		p := &list.Items[i]
		if p.Namespace == ns && p.Spec.Type == automationv1alpha1.InfrastructureProfileType {
			p.Spec.Values.Raw = []byte(strings.Replace(string(p.Spec.Values.Raw), "}", `,"nodeStartupDuration":"2s"}`, 1))
			require.NoError(t, env.Client.Update(ctx, p))
		}
	}
	assert.Eventually(t, func() bool {
		after := templateNames(t, ns)
		return len(after) == 2 && after[0] != before[0] && after[1] != before[1]
	}, defaultWait, tick, "new templates replace the old ones")

	// Steady state: a pass (woken by an annotation no one reads) makes no write request.
	time.Sleep(2 * time.Second)
	writes := clusterWrites(t)
	got := lkCluster(t, c)
	got.Annotations["example.com/poke"] = "1"
	require.NoError(t, env.Client.Update(ctx, got))
	time.Sleep(3 * time.Second)
	assert.Equal(t, writes+1, clusterWrites(t), "only the test's own update")
}

func templateNames(t *testing.T, ns string) []string {
	var names []string
	for _, u := range listCAPI(t, ns, "infrastructure.cluster.x-k8s.io/v1beta2", "DevMachineTemplate") {
		names = append(names, u.GetName())
	}
	return names
}

// clusterWrites counts the write requests (apply included) the API server has served, but
// for its own lease renewals and events.
func clusterWrites(t *testing.T) float64 {
	t.Helper()
	var n float64
	for _, q := range apiSamples(t) {
		if !q.Read() && q.Resource != "leases" && q.Resource != "events" {
			n += q.Count
		}
	}
	return n
}
