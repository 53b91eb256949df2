package controllers_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
	"github.com/dcn-ssu/lkaas/controllers"
	"github.com/dcn-ssu/lkaas/internal/emco/emcotest"
)

// seedMembers are the seed's mec-cluster: a central cluster and three edge sites.
var seedMembers = []struct{ name, location string }{
	{"central-cluster", "kr-seoul"}, {"seoul-edge-cluster", "kr-seoul"},
	{"busan-edge-cluster", "kr-busan"}, {"gwangju-edge-cluster", "kr-gwangju"},
}

// seedMecCluster creates the seed's logical cluster, built by the real LogicalCluster and Cluster
// controllers from an in-memory catalog, as the Fleet would apply it.
func seedMecCluster(t *testing.T, ns string) *intentv1.LogicalCluster {
	t.Helper()
	catalog := &automationv1alpha1.ClusterCatalog{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "openstack-medium-catalog"},
		Spec: automationv1alpha1.ClusterCatalogSpec{ClusterRecipe: automationv1alpha1.ClusterRecipe{
			Infrastructure: &automationv1alpha1.InfrastructureRecipe{Provider: "docker",
				Profile: automationv1alpha1.ProfileReference{Name: "inmemory", Type: automationv1alpha1.InfrastructureProfileType, Revision: "1.0.0"}},
		}},
	}
	require.NoError(t, env.Client.Create(context.Background(), catalog))
	labels := fleetLabels(ns)
	labels[automationv1alpha1.ProjectLabel] = "dcn"
	lc := &intentv1.LogicalCluster{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "mec-cluster", Labels: labels},
		Spec:       intentv1.LogicalClusterSpec{Tenant: "starlab"},
	}
	for _, m := range seedMembers {
		lc.Spec.Clusters = append(lc.Spec.Clusters, intentv1.MemberCluster{Name: m.name, ClusterCatalog: catalog.Name,
			Labels: map[string]string{automationv1alpha1.LocationLabel: m.location, automationv1alpha1.ManagedByLabel: emcoEndpoint}})
	}
	require.NoError(t, env.Client.Create(context.Background(), lc))
	return lc
}

func logicalCloudRefs(lc emcotest.LogicalCloudState) []string {
	var out []string
	for _, r := range lc.References {
		out = append(out, r.Provider+"+"+r.Cluster)
	}
	slices.Sort(out)
	return out
}

func countActions(actions []string, state string) int {
	n := 0
	for _, a := range actions {
		if a == state {
			n++
		}
	}
	return n
}

// The seed's logical cluster becomes four registered clusters and one instantiated logical
// cloud; a steady state writes nothing to EMCO; a member removed from the spec while EMCO is
// down waits, then leaves the logical cloud and clm before its CAPI objects go; deleting the
// logical cluster deletes the logical cloud.
func TestLogicalCloudRegistrarMecCluster(t *testing.T) {
	ns := clusterFixture(t)
	ctx := context.Background()
	emu, url := emcotest.Start(t)
	emcoFleet(t, env.Client, ns, url)
	lc := seedMecCluster(t, ns)

	for _, m := range seedMembers {
		capiAvailable(t, ns, m.name)
		writeKubeconfig(t, env.Client, ns, m.name, fakeKubeconfig(m.name, 1))
	}
	want := []string{"starlab+busan-edge-cluster", "starlab+central-cluster", "starlab+gwangju-edge-cluster", "starlab+seoul-edge-cluster"}
	st := waitEMCO(t, emu, "holds the logical cloud with four clusters", func(st emcotest.State) bool {
		cloud, ok := st.LogicalCloud("dcn", "mec-cluster")
		return ok && slices.Equal(logicalCloudRefs(cloud), want) && cloud.DeployedStatus == "Instantiated"
	})
	cloud, _ := st.LogicalCloud("dcn", "mec-cluster")
	assert.Equal(t, "0", cloud.Level)
	assert.Equal(t, 1, countActions(cloud.Actions, "Instantiated"), "instantiated once: %v", cloud.Actions)
	for _, m := range seedMembers {
		cl, ok := st.Cluster("starlab", m.name)
		require.True(t, ok, m.name)
		assert.Contains(t, cl.Labels, "location-"+m.location)
		assert.Contains(t, cl.Labels, "logical-cluster-mec-cluster")
	}
	waitMecCluster(t, ns, "registered", func(lc *intentv1.LogicalCluster) bool {
		if !conditions.IsTrue(lc, controllers.RegisteredCondition) || lc.Status.EMCO == nil || lc.Status.LogicalCloud != "mec-cluster" {
			return false
		}
		for _, m := range lc.Status.Members {
			if !m.Registered {
				return false
			}
		}
		return slices.Equal(lc.Status.EMCO.Clusters, want) && lc.Status.EMCO.DeployedStatus == "Instantiated" &&
			lc.Status.EMCO.ReadyStatus == "Ready" && lc.Status.EMCO.Project == "dcn" && len(lc.Status.Members) == 4
	})

	// Steady state: every controller passes over everything; EMCO sees reads only.
	// An EMCO settings edit that changes nothing wakes both registrars for every member and
	// the cloud. Wait until the passes have read them all, then for a while longer: a write
	// would follow the reads of its pass.
	emu.ResetRequests()
	restateEMCODefaults(t, ns)
	assert.Eventually(t, func() bool {
		read := func(name string) bool {
			return slices.ContainsFunc(emu.Requests(), func(r emcotest.Request) bool {
				return r.Method == http.MethodGet && strings.Contains(r.Path+"/", "/"+name+"/")
			})
		}
		for _, m := range seedMembers {
			if !read(m.name) {
				return false
			}
		}
		return read("mec-cluster")
	}, defaultWait, tick, "the passes read every member and the logical cloud")
	assert.Never(t, func() bool { return len(emu.Writes()) > 0 }, 2*time.Second, tick, "a steady state writes nothing to EMCO: %v", writesOf(emu))

	// CAPI rotates a member's kubeconfig: clm's copy is replaced (the cluster is deleted and
	// re-created, so its reference is lifted and restored) and the logical cloud updated.
	writeKubeconfig(t, env.Client, ns, "central-cluster", fakeKubeconfig("central-cluster", 2))
	st = waitEMCO(t, emu, "holds the rotated kubeconfig, still referenced", func(st emcotest.State) bool {
		cl, ok := st.Cluster("starlab", "central-cluster")
		cloud, _ := st.LogicalCloud("dcn", "mec-cluster")
		return ok && string(cl.Kubeconfig) == fakeKubeconfig("central-cluster", 2) && len(cl.Labels) > 0 &&
			slices.Equal(logicalCloudRefs(cloud), want) && countActions(cloud.Actions, "Updated") > 0 && cloud.DeployedStatus == "Instantiated"
	})
	cloud, _ = st.LogicalCloud("dcn", "mec-cluster")
	assert.Equal(t, 1, countActions(cloud.Actions, "Instantiated"), "rotation updates the cloud, never re-instantiates: %v", cloud.Actions)

	// Gwangju leaves the logical cluster while EMCO is down.
	emu.AddFault(emcotest.Fault{Status: http.StatusServiceUnavailable})
	require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(lc), lc))
	lc.Spec.Clusters = lc.Spec.Clusters[:3]
	require.NoError(t, env.Client.Update(ctx, lc))
	gwangju := &automationv1alpha1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gwangju-edge-cluster"}}
	waitCluster(t, gwangju, "held for deregistration", func(c *automationv1alpha1.Cluster) bool {
		cond := conditions.Get(c, controllers.RegisteredCondition)
		return !c.DeletionTimestamp.IsZero() && cond != nil && cond.Reason == controllers.ReasonDeregistering
	})
	capi, err := capiObject(t, ns, "cluster.x-k8s.io/v1beta2", "Cluster", gwangju.Name)
	require.NoError(t, err)
	assert.Nil(t, capi.GetDeletionTimestamp(), "CAPI keeps the cluster while EMCO still references it")

	emu.ClearFaults()
	three := slices.DeleteFunc(slices.Clone(want), func(s string) bool { return s == "starlab+gwangju-edge-cluster" })
	st = waitEMCO(t, emu, "drops gwangju", func(st emcotest.State) bool {
		cloud, ok := st.LogicalCloud("dcn", "mec-cluster")
		_, registered := st.Cluster("starlab", gwangju.Name)
		deployed := slices.Sorted(slices.Values(cloud.DeployedClusters))
		return ok && !registered && slices.Equal(logicalCloudRefs(cloud), three) && slices.Equal(deployed, three)
	})
	cloud, _ = st.LogicalCloud("dcn", "mec-cluster")
	assert.Equal(t, 1, countActions(cloud.Actions, "Instantiated"), "updated, never re-instantiated: %v", cloud.Actions)
	assert.Eventually(t, func() bool {
		return apierrors.IsNotFound(env.Client.Get(ctx, client.ObjectKeyFromObject(gwangju), &automationv1alpha1.Cluster{}))
	}, defaultWait, tick, "gwangju's Cluster goes once EMCO let it go")
	waitMecCluster(t, ns, "down to three clusters", func(lc *intentv1.LogicalCluster) bool {
		return lc.Status.EMCO != nil && slices.Equal(lc.Status.EMCO.Clusters, three) && conditions.IsTrue(lc, controllers.RegisteredCondition)
	})

	// Deleting the logical cluster deletes its logical cloud; its members, which the garbage
	// collector would delete next, then leave clm.
	require.NoError(t, env.Client.Delete(ctx, lc))
	waitEMCO(t, emu, "deletes the logical cloud", func(st emcotest.State) bool {
		_, ok := st.LogicalCloud("dcn", "mec-cluster")
		return !ok
	})
	for _, m := range seedMembers[:3] {
		require.NoError(t, client.IgnoreNotFound(env.Client.Delete(ctx, &automationv1alpha1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: m.name}})))
	}
	waitEMCO(t, emu, "deregisters every member", func(st emcotest.State) bool { return len(st.Clusters) == 0 })
}
