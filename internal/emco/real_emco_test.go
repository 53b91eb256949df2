package emco_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcn-ssu/lkaas/internal/emco"
)

// TestAgainstRealEMCO runs the registration story against a real EMCO. It is
// part of the ordinary test run and skipped unless EMCO_URL (or EMCO_CLM_URL)
// is set:
//
//	EMCO_URL=http://emco.example:30415 go test -count=1 ./internal/emco/...
//	EMCO_URL=http://emco.example:30415 go test -count=1 ./internal/emco/ -run RealEMCO
//
// EMCO_URL is an ingress for all services; EMCO_ORCHESTRATOR_URL, EMCO_CLM_URL
// and EMCO_DCM_URL override it per service, EMCO_TOKEN sets a bearer token.
// The first command also runs the contract suite of emcotest against the same
// EMCO (that one needs EMCO_URL). It creates and removes its own uniquely named
// objects; it needs the EMCO's rsync controller entry (contract §3) and is
// skipped without it, as it does not register one on a shared EMCO.
func TestAgainstRealEMCO(t *testing.T) {
	ingress := os.Getenv("EMCO_URL")
	if ingress == "" && os.Getenv("EMCO_CLM_URL") == "" {
		t.Skip("EMCO_URL not set")
	}
	endpoints := emco.SingleEndpoint(ingress)
	for env, dst := range map[string]*string{"EMCO_ORCHESTRATOR_URL": &endpoints.Orchestrator, "EMCO_CLM_URL": &endpoints.CLM, "EMCO_DCM_URL": &endpoints.DCM} {
		if v := os.Getenv(env); v != "" {
			*dst = v
		}
	}
	c, err := emco.New(emco.Options{Endpoints: endpoints, BearerToken: os.Getenv("EMCO_TOKEN")})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	suffix := fmt.Sprintf("%d", time.Now().Unix()%100000)
	proj, cp, lc := "lkaas-p-"+suffix, "lkaas-cp-"+suffix, "lkaas-lc-"+suffix
	members := []string{"lkaas-a-" + suffix, "lkaas-b-" + suffix}
	t.Cleanup(func() {
		ctx := context.Background()
		_ = c.DeleteLogicalCloud(ctx, proj, lc)
		for _, m := range members {
			_ = c.DeleteCluster(ctx, cp, m)
		}
		_ = c.DeleteClusterProvider(ctx, cp)
		_ = c.DeleteProject(ctx, proj)
	})

	_, err = c.EnsureProject(ctx, emco.Project{Metadata: emco.Metadata{Name: proj}})
	require.NoError(t, err)
	if _, err := c.GetController(ctx, emco.RsyncControllerName); emco.IsNotFound(err) {
		t.Skip("the EMCO under test has no rsync controller entry; not registering one on a shared EMCO")
	}
	_, err = c.EnsureClusterProvider(ctx, emco.ClusterProvider{Metadata: emco.Metadata{Name: cp}})
	require.NoError(t, err)
	refs := []emco.ClusterReference{}
	for _, m := range members {
		reg := emco.ClusterRegistration{Provider: cp, Cluster: emco.Metadata{Name: m}, Kubeconfig: kubeconfigFor(m, "v1"), Project: proj}
		change, err := c.EnsureCluster(ctx, reg)
		require.NoError(t, err)
		assert.Equal(t, emco.Created, change)
		_, err = c.EnsureClusterLabels(ctx, cp, m, emco.LabelsFor(map[string]string{"automation.dcn.ssu.ac.kr/location": "kr-seoul"}))
		require.NoError(t, err)
		refs = append(refs, emco.ClusterReference{Metadata: emco.Metadata{Name: m}, Spec: emco.ClusterReferenceSpec{ClusterProvider: cp, Cluster: m}})
	}
	_, err = c.EnsureLogicalCloud(ctx, proj, emco.LogicalCloud{Metadata: emco.Metadata{Name: lc}, Spec: emco.LogicalCloudSpec{Level: emco.LevelAdmin}})
	require.NoError(t, err)
	_, err = c.EnsureClusterReferences(ctx, proj, lc, refs)
	require.NoError(t, err)
	change, err := c.EnsureLogicalCloudDeployed(ctx, proj, lc)
	require.NoError(t, err)
	assert.Equal(t, emco.Created, change)

	// Level 0 instantiates an empty app context: it settles quickly.
	require.Eventually(t, func() bool {
		st, err := c.LogicalCloudStatus(ctx, proj, lc)
		return err == nil && st.DeployedStatus == emco.DeployedInstantiated
	}, time.Minute, time.Second)
	// Real dcm reports readiness only for status=ready (contract §4.4).
	st, err := c.LogicalCloudStatusWithReadiness(ctx, proj, lc)
	require.NoError(t, err)
	assert.Equal(t, "Ready", st.ReadyStatus, "a level-0 cloud is ready once instantiated")

	change, err = c.EnsureCluster(ctx, emco.ClusterRegistration{Provider: cp, Cluster: emco.Metadata{Name: members[0]}, Kubeconfig: kubeconfigFor(members[0], "v2"), Project: proj})
	require.NoError(t, err)
	assert.Equal(t, emco.Replaced, change)
	kc, err := c.GetClusterKubeconfig(ctx, cp, members[0])
	require.NoError(t, err)
	assert.Equal(t, kubeconfigFor(members[0], "v2"), kc)
	labels, err := c.ListClusterLabels(ctx, cp, members[0])
	require.NoError(t, err)
	assert.Equal(t, []string{"location-kr-seoul"}, labels)

	require.Eventually(t, func() bool { return c.DeleteLogicalCloud(ctx, proj, lc) == nil }, 2*time.Minute, 2*time.Second)
}
