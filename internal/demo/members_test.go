package demo

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

func member(name string, wave int32, phase automationv1alpha1.ClusterPhase, registered bool) intentv1.MemberStatus {
	return intentv1.MemberStatus{Name: name, Wave: wave, Phase: phase, KubernetesVersion: "v1.34.1", Registered: registered}
}

func cluster(name, cp, workers string, emco *automationv1alpha1.EMCORegistration, registered *metav1.Condition) *automationv1alpha1.Cluster {
	cl := &automationv1alpha1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: Namespace, Name: name}}
	cl.Status.ControlPlaneVersion, cl.Status.WorkersVersion, cl.Status.EMCO = cp, workers, emco
	if registered != nil {
		cl.Status.Conditions = []metav1.Condition{*registered}
	}
	return cl
}

func registeredAs(name string) *automationv1alpha1.EMCORegistration {
	return &automationv1alpha1.EMCORegistration{Endpoint: EMCOEndpoint, ClusterProvider: Namespace, Cluster: name, Registered: true}
}

// The table the demo shows, at the moments a user sees: before the Fleet applied anything,
// while the clusters are built, during a wave upgrade, and Ready.
func TestProgressTable(t *testing.T) {
	waiting := &metav1.Condition{Type: "Registered", Status: metav1.ConditionFalse, Reason: "WaitingForCluster"}
	upgrading := &intentv1.LogicalCluster{ObjectMeta: metav1.ObjectMeta{Name: LogicalClusterName}}
	upgrading.Status = intentv1.LogicalClusterStatus{
		Phase: automationv1alpha1.ClusterPhaseUpgrading, ReadyMembers: 3, TotalMembers: 4, CurrentWave: ptr.To[int32](1),
		Members: []intentv1.MemberStatus{
			member("central-cluster", 0, automationv1alpha1.ClusterPhaseReady, true),
			member("seoul-edge-cluster", 1, automationv1alpha1.ClusterPhaseUpgrading, true),
			{Name: "busan-edge-cluster", Wave: 1, Phase: automationv1alpha1.ClusterPhaseProvisioned, KubernetesVersion: "v1.34.1", Registered: true, Pending: true},
		},
		EMCO: &intentv1.LogicalCloudRegistration{Project: "dcn", LogicalCloud: LogicalClusterName, DeployedStatus: "Instantiated"},
	}
	provisioning := &intentv1.LogicalCluster{ObjectMeta: metav1.ObjectMeta{Name: LogicalClusterName}}
	provisioning.Status = intentv1.LogicalClusterStatus{
		Phase: automationv1alpha1.ClusterPhaseProvisioning, TotalMembers: 1,
		Members: []intentv1.MemberStatus{member("central-cluster", 0, automationv1alpha1.ClusterPhaseProvisioning, false)},
	}
	provisioning.Status.Conditions = []metav1.Condition{{Type: "Ready", Status: metav1.ConditionFalse, Reason: "Progressing", Message: "profile in-memory-medium-cluster not found"}}

	cases := []struct {
		name      string
		progress  progress
		wantReady bool
	}{
		{name: "not-applied", progress: progress{}},
		{name: "provisioning", progress: progress{logicalCluster: provisioning, clusters: map[string]*automationv1alpha1.Cluster{
			"central-cluster": cluster("central-cluster", "", "", nil, waiting),
		}}},
		{name: "upgrading", progress: progress{logicalCluster: upgrading, clusters: map[string]*automationv1alpha1.Cluster{
			"central-cluster":    cluster("central-cluster", "v1.35.0", "v1.35.0", registeredAs("central-cluster"), nil),
			"seoul-edge-cluster": cluster("seoul-edge-cluster", "v1.35.0", "v1.34.1", registeredAs("seoul-edge-cluster"), nil),
			"busan-edge-cluster": cluster("busan-edge-cluster", "v1.34.1", "v1.34.1", registeredAs("busan-edge-cluster"), nil),
		}}},
	}
	seoul := cases[2].progress.clusters["seoul-edge-cluster"]
	seoul.Status.Conditions = append(seoul.Status.Conditions, metav1.Condition{Type: "Ready", Status: metav1.ConditionFalse, Reason: "Upgrading",
		Message: "upgrading to v1.35.0: control plane at v1.35.0; workers rolling to v1.35.0 (now v1.34.1)"})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			tc.progress.render(&b)
			golden := filepath.Join("testdata", tc.name+".golden")
			if *update {
				require.NoError(t, os.WriteFile(golden, b.Bytes(), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "run go test ./internal/demo/ -update to write the golden files")
			assert.Equal(t, string(want), b.String())
			assert.Equal(t, tc.wantReady, tc.progress.ready())
		})
	}
}

// Ready needs every member Ready and registered and the logical cloud instantiated.
func TestProgressReady(t *testing.T) {
	ready := func(mutate func(*intentv1.LogicalCluster)) bool {
		lc := &intentv1.LogicalCluster{}
		lc.Status = intentv1.LogicalClusterStatus{
			Phase: automationv1alpha1.ClusterPhaseReady, ReadyMembers: 2, TotalMembers: 2,
			Members: []intentv1.MemberStatus{
				member("a", 0, automationv1alpha1.ClusterPhaseReady, true),
				member("b", 1, automationv1alpha1.ClusterPhaseReady, true),
			},
			EMCO: &intentv1.LogicalCloudRegistration{DeployedStatus: "Instantiated"},
		}
		mutate(lc)
		return progress{logicalCluster: lc}.ready()
	}
	assert.True(t, ready(func(*intentv1.LogicalCluster) {}))
	assert.False(t, ready(func(lc *intentv1.LogicalCluster) { lc.Status.ReadyMembers = 1 }), "a member not Ready")
	assert.False(t, ready(func(lc *intentv1.LogicalCluster) { lc.Status.Members[1].Registered = false }), "a member not registered")
	assert.False(t, ready(func(lc *intentv1.LogicalCluster) { lc.Status.EMCO.DeployedStatus = "Created" }), "the cloud not instantiated")
	assert.False(t, ready(func(lc *intentv1.LogicalCluster) { lc.Status.Phase = automationv1alpha1.ClusterPhaseUpgrading }), "rolling")
	assert.False(t, ready(func(lc *intentv1.LogicalCluster) { *lc = intentv1.LogicalCluster{} }), "no status yet")
}
