package controllers_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/controllers"
	"github.com/dcn-ssu/lkaas/internal/apply"
	"github.com/dcn-ssu/lkaas/internal/emco/emcotest"
)

// A standalone cluster: registered once Available with its kubeconfig and labels, nothing
// written while nothing changes, re-registered when CAPI rotates the kubeconfig, and taken
// out of EMCO before its CAPI objects go — held while EMCO is down.
func TestClusterRegistrarLifecycle(t *testing.T) {
	ns := clusterFixture(t)
	ctx := context.Background()
	emu, url := emcotest.Start(t)
	emcoFleet(t, env.Client, ns, url)

	c := newCluster(t, ns, "seoul-edge-cluster", func(c *automationv1alpha1.Cluster) {
		c.Labels = fleetLabels(ns)
		c.Labels[automationv1alpha1.LocationLabel] = "kr-seoul"
		c.Labels[automationv1alpha1.ManagedByLabel] = emcoEndpoint
		c.Labels[apply.ShardLabel] = "shard1"
		c.Spec.Tenant = "starlab"
	})

	// Not Available yet: it waits, and EMCO hears nothing of it.
	waitCluster(t, c, "waiting for CAPI", func(c *automationv1alpha1.Cluster) bool {
		cond := conditions.Get(c, controllers.RegisteredCondition)
		return cond != nil && cond.Reason == controllers.ReasonWaitingForCluster
	})
	assert.Empty(t, emu.State().Clusters)

	capiAvailable(t, ns, c.Name)
	waitCluster(t, c, "waiting for the kubeconfig", func(c *automationv1alpha1.Cluster) bool {
		cond := conditions.Get(c, controllers.RegisteredCondition)
		return cond != nil && cond.Reason == controllers.ReasonWaitingForKubeconfig
	})
	writeKubeconfig(t, env.Client, ns, c.Name, fakeKubeconfig(c.Name, 1))

	got := waitCluster(t, c, "registered", func(c *automationv1alpha1.Cluster) bool {
		return c.Status.EMCO != nil && c.Status.EMCO.Registered && conditions.IsTrue(c, controllers.RegisteredCondition)
	})
	assert.Equal(t, &automationv1alpha1.EMCORegistration{Endpoint: emcoEndpoint, Project: ns, ClusterProvider: "starlab",
		Cluster: c.Name, Registered: true, KubeconfigDigest: got.Status.EMCO.KubeconfigDigest}, got.Status.EMCO)
	assert.Contains(t, got.Finalizers, controllers.EMCOFinalizer)
	st := emu.State()
	assert.Contains(t, st.Projects, ns)
	assert.Equal(t, "rsync:9031", st.Controllers["rsync"])
	registered, ok := st.Cluster("starlab", c.Name)
	require.True(t, ok, "clm holds the cluster")
	assert.Equal(t, fakeKubeconfig(c.Name, 1), string(registered.Kubeconfig))
	assert.Equal(t, []string{"location-kr-seoul", "managed-by-" + emcoEndpoint, "tenant-starlab"}, registered.Labels,
		"labels follow the mapping in docs/emco.md; the Fleet's bookkeeping labels and the shard stay out")
	assert.Equal(t, []map[string]any{{"namespace": ns}, {"name": c.Name}}, registered.KvPairs["lkaas-owner"])

	// A Fleet edit that changes nothing EMCO sees costs no EMCO request at all.
	emu.ResetRequests()
	passes := fleetPasses(t)
	touchFleet(t, ns)
	require.Eventually(t, func() bool { return fleetPasses(t) > passes }, defaultWait, tick, "the Fleet controller saw the edit")
	assert.Never(t, func() bool { return len(emu.Requests()) > 0 }, 2*time.Second, tick, "no EMCO request for a Fleet edit EMCO does not see: %v", emu.Requests())

	// Steady state: an edit of the EMCO settings that changes nothing (the rsync defaults
	// spelled out) brings passes that read EMCO and write nothing.
	restateEMCODefaults(t, ns)
	require.Eventually(t, func() bool { return len(emu.Requests()) > 0 }, defaultWait, tick, "the edit brought a pass")
	assert.Never(t, func() bool { return len(emu.Writes()) > 0 }, 2*time.Second, tick, "an unchanged cluster costs no EMCO write: %v", writesOf(emu))

	// CAPI rotates the kubeconfig: clm gets the new one (delete and re-create), labels survive.
	writeKubeconfig(t, env.Client, ns, c.Name, fakeKubeconfig(c.Name, 2))
	waitEMCO(t, emu, "holds the rotated kubeconfig", func(st emcotest.State) bool {
		cl, ok := st.Cluster("starlab", c.Name)
		return ok && string(cl.Kubeconfig) == fakeKubeconfig(c.Name, 2) && len(cl.Labels) == 3 && len(cl.KvPairs) == 1
	})
	waitCluster(t, c, "recording the new kubeconfig", func(n *automationv1alpha1.Cluster) bool {
		return n.Status.EMCO != nil && n.Status.EMCO.KubeconfigDigest != got.Status.EMCO.KubeconfigDigest
	})

	// EMCO is down when the cluster is deleted: it stays registered, and CAPI keeps the
	// cluster, until EMCO answers again.
	unavailableBefore := emcoCalls(t, "503")
	emu.AddFault(emcotest.Fault{Status: http.StatusServiceUnavailable})
	require.NoError(t, env.Client.Delete(ctx, c))
	waitCluster(t, c, "held for deregistration", func(c *automationv1alpha1.Cluster) bool {
		cond := conditions.Get(c, controllers.RegisteredCondition)
		return cond != nil && cond.Reason == controllers.ReasonDeregistering
	})
	time.Sleep(2 * time.Second)
	capi, err := capiObject(t, ns, "cluster.x-k8s.io/v1beta2", "Cluster", c.Name)
	require.NoError(t, err, "the CAPI Cluster outlives an EMCO outage")
	assert.Nil(t, capi.GetDeletionTimestamp(), "no CAPI object is deleted before the cluster leaves EMCO")
	assert.NotNil(t, lkCluster(t, c).Status.EMCO, "the record of the registration is kept")
	assert.Greater(t, emcoCalls(t, "503"), unavailableBefore, "lkaas_emco_requests_total counts the outage by code")

	emu.ClearFaults()
	waitEMCO(t, emu, "deregisters the cluster", func(st emcotest.State) bool {
		_, ok := st.Cluster("starlab", c.Name)
		return !ok
	})
	assert.Eventually(t, func() bool {
		err := env.Client.Get(ctx, client.ObjectKeyFromObject(c), &automationv1alpha1.Cluster{})
		return apierrors.IsNotFound(err)
	}, defaultWait, tick, "the cluster goes once EMCO let it go")
	assert.NotContains(t, emu.State().Providers, "starlab", "an empty cluster provider goes with its last cluster")
}

// emcoCalls sums lkaas_emco_requests_total over the test endpoint's calls answered with code.
func emcoCalls(t *testing.T, code string) float64 {
	t.Helper()
	families, err := metrics.Registry.Gather()
	require.NoError(t, err)
	var sum float64
	for _, fam := range families {
		if fam.GetName() != "lkaas_emco_requests_total" {
			continue
		}
		for _, m := range fam.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["endpoint"] == emcoEndpoint && labels["code"] == code {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

// restateEMCODefaults writes the Fleet's rsync endpoint as the defaults it already has: a
// change of the EMCO settings that changes no registration.
func restateEMCODefaults(t *testing.T, ns string) {
	t.Helper()
	require.Eventually(t, func() bool {
		f := &automationv1alpha1.Fleet{}
		if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "fleet"}, f); err != nil {
			return false
		}
		for i := range f.Spec.EMCO.Endpoints {
			require.Nil(t, f.Spec.EMCO.Endpoints[i].Rsync, "the fixture leaves rsync to its defaults")
			f.Spec.EMCO.Endpoints[i].Rsync = &automationv1alpha1.EMCORsync{Host: "rsync", Port: 9031}
		}
		return env.Client.Update(context.Background(), f) == nil
	}, defaultWait, tick)
}

// touchFleet changes the Fleet's spec (its interval) in a way that matters to no registration:
// every registrar passes over every cluster and logical cluster of the Fleet.
func touchFleet(t *testing.T, ns string) {
	t.Helper()
	require.Eventually(t, func() bool {
		f := &automationv1alpha1.Fleet{}
		if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "fleet"}, f); err != nil {
			return false
		}
		f.Spec.Interval.Duration += time.Minute
		return env.Client.Update(context.Background(), f) == nil
	}, defaultWait, tick)
}

// Two namespaces with one tenant name the same EMCO cluster: the second is refused with a
// clear condition and never touches the first one's registration.
func TestClusterRegistrarRefusesAnotherClustersName(t *testing.T) {
	emu, url := emcotest.Start(t)
	var clusters []*automationv1alpha1.Cluster
	for range 2 {
		ns := clusterFixture(t)
		emcoFleet(t, env.Client, ns, url, func(f *automationv1alpha1.Fleet) { f.Spec.EMCO.Endpoints[0].Project = "shared" })
		c := newCluster(t, ns, "edge", func(c *automationv1alpha1.Cluster) {
			c.Labels = fleetLabels(ns)
			c.Spec.Tenant = "starlab"
		})
		clusters = append(clusters, c)
	}
	first, second := clusters[0], clusters[1]
	capiAvailable(t, first.Namespace, first.Name)
	writeKubeconfig(t, env.Client, first.Namespace, first.Name, fakeKubeconfig("first", 1))
	waitCluster(t, first, "registered", func(c *automationv1alpha1.Cluster) bool { return c.Status.EMCO != nil && c.Status.EMCO.Registered })

	capiAvailable(t, second.Namespace, second.Name)
	writeKubeconfig(t, env.Client, second.Namespace, second.Name, fakeKubeconfig("second", 1))
	got := waitCluster(t, second, "refused", func(c *automationv1alpha1.Cluster) bool {
		cond := conditions.Get(c, controllers.RegisteredCondition)
		return cond != nil && cond.Reason == controllers.ReasonNameTaken
	})
	assert.Contains(t, conditions.GetMessage(got, controllers.RegisteredCondition), first.Namespace+"/edge")
	cl, ok := emu.State().Cluster("starlab", "edge")
	require.True(t, ok)
	assert.Equal(t, fakeKubeconfig("first", 1), string(cl.Kubeconfig), "the first registration is untouched")

	// Deleting the refused cluster leaves the first one's registration alone.
	require.NoError(t, env.Client.Delete(context.Background(), second))
	assert.Eventually(t, func() bool {
		return apierrors.IsNotFound(env.Client.Get(context.Background(), client.ObjectKeyFromObject(second), &automationv1alpha1.Cluster{}))
	}, defaultWait, tick)
	_, ok = emu.State().Cluster("starlab", "edge")
	assert.True(t, ok)
}
