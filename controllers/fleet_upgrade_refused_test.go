package controllers_test

import (
	"os"
	"strings"
	"testing"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/controllers"
)

// Issue 15: when clusters of a Fleet refuse their change by a version rule, the Fleet itself
// says so, naming each cluster and the rule (its Ready message is what `kubectl get fleet`
// shows); a commit the rules allow clears it.
func TestFleetNamesClustersThatRefuseTheirChange(t *testing.T) {
	ns := env.Namespace(t)
	tmpl, err := os.ReadFile("../gitops-examples/fleet-repo/templates/docker-inmemory/cluster-template.yaml")
	require.NoError(t, err)
	files := func(version string) map[string]string {
		f := fleetFiles(version, "seoul", "busan")
		f["templates/cluster-template.yaml"] = string(tmpl)
		return f
	}
	r := newRepo(t, ns, "fleet-repo")
	rev1 := r.push(t, files("v1.34.1"))
	f := newFleet(t, r)
	waitApplied(t, f, rev1)
	for _, name := range []string{"seoul", "busan"} {
		waitCluster(t, &automationv1alpha1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}, "applied at v1.34.1", func(c *automationv1alpha1.Cluster) bool {
			return c.Status.AppliedRenderHash != ""
		})
	}

	// A downgrade of both: each refuses it, and the Fleet names both with the rule.
	rev2 := r.push(t, files("v1.33.0"))
	var got *automationv1alpha1.Fleet
	require.Eventually(t, func() bool {
		got = fleetState(t, f)
		ready := conditions.Get(got, meta.ReadyCondition)
		return got.Status.LastAppliedRevision == rev2 && ready != nil && ready.Reason == controllers.ReasonUpgradeRefused &&
			conditions.IsTrue(got, controllers.UpgradeRefusedCondition) &&
			strings.HasPrefix(conditions.GetMessage(got, controllers.UpgradeRefusedCondition), "2 clusters")
	}, defaultWait, tick, "the Fleet naming both refused clusters; status: %+v", got)
	why := "kubernetesVersion v1.33.0 is older than v1.34.1, which the control plane runs: Kubernetes cannot downgrade a control plane " +
		"(etcd and storage versions only move forward) (rule no-downgrade); an upgrade this cluster already started cannot be reverted: keep its version or move forward"
	want := "2 clusters refused their change, nothing written for them: busan: " + why + " | seoul: " + why
	assert.Equal(t, want, conditions.GetMessage(got, controllers.UpgradeRefusedCondition))
	assert.Equal(t, "Applied revision: "+rev2+"; "+want, readyMessage(got), "the message `kubectl get fleet` shows")
	assert.False(t, conditions.IsReady(got))
	assert.False(t, conditions.Has(got, meta.StalledCondition), "the Fleet applied its revision: nothing of its own is stuck")

	// Back to what runs: the clusters accept it and the Fleet is Ready with nothing refused.
	rev3 := r.push(t, files("v1.34.1"))
	got = waitApplied(t, f, rev3)
	assert.False(t, conditions.Has(got, controllers.UpgradeRefusedCondition))
	assert.Equal(t, "Applied revision: "+rev3, readyMessage(got))
}
