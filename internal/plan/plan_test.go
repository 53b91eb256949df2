package plan

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
	"github.com/dcn-ssu/lkaas/internal/loader"
	"github.com/dcn-ssu/lkaas/internal/resolve"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func member(name string, wave int32) intentv1.MemberCluster {
	return intentv1.MemberCluster{Name: name, ClusterCatalog: "openstack-medium-catalog", Wave: wave}
}

func mecCluster(members ...intentv1.MemberCluster) *intentv1.LogicalCluster {
	two := intstr.FromInt32(2)
	return &intentv1.LogicalCluster{
		ObjectMeta: metav1.ObjectMeta{Namespace: "starlab", Name: "mec-cluster"},
		Spec:       intentv1.LogicalClusterSpec{Clusters: members, Rollout: &intentv1.Rollout{MaxUnavailable: &two}},
	}
}

func clusterPlan(name, lc, version string, workers int32) *resolve.Plan {
	return &resolve.Plan{
		Namespace: "starlab", Name: name, LogicalCluster: lc, Provider: "openstack",
		ClusterCatalog: "openstack-medium-catalog", KubernetesVersion: version,
		ControlPlaneReplicas: 1, WorkerReplicas: workers, ControlPlaneFlavor: "m1.medium", WorkerFlavor: "m1.large",
		Infrastructure: resolve.ResolvedProfile{Key: resolve.ProfileKey{Namespace: "default", Name: "openstack-medium-cluster", Type: automationv1alpha1.InfrastructureProfileType, Revision: "1.0.0"}},
	}
}

func controlPlane(cluster, version string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "controlplane.cluster.x-k8s.io/v1beta2", "kind": "KubeadmControlPlane",
		"metadata": map[string]any{"namespace": "starlab", "name": cluster + "-control-plane"},
		"spec":     map[string]any{"replicas": int64(1), "version": version},
	}}
}

func snapshot(label string, lcs []*intentv1.LogicalCluster, plans ...*resolve.Plan) *Snapshot {
	s := &Snapshot{Label: label, Plans: plans, LogicalClusters: lcs, Rendered: map[string][]*unstructured.Unstructured{}}
	for _, p := range plans {
		s.Rendered[clusterKey(p)] = []*unstructured.Unstructured{controlPlane(p.Name, p.KubernetesVersion)}
	}
	return s
}

// The edge sites of mec-cluster move to v1.26.0 in wave 1, a Daegu edge joins, a standalone
// lab cluster is removed and the central cluster gets a worker more.
func upgradeChange() (*Snapshot, *Snapshot) {
	base := snapshot("origin/main",
		[]*intentv1.LogicalCluster{mecCluster(member("central-cluster", 0), member("seoul-edge-cluster", 1), member("busan-edge-cluster", 1), member("gwangju-edge-cluster", 1))},
		clusterPlan("central-cluster", "mec-cluster", "v1.25.0", 3),
		clusterPlan("seoul-edge-cluster", "mec-cluster", "v1.25.0", 3),
		clusterPlan("busan-edge-cluster", "mec-cluster", "v1.25.0", 3),
		clusterPlan("gwangju-edge-cluster", "mec-cluster", "v1.25.0", 3),
		clusterPlan("lab-cluster", "", "v1.25.0", 1),
	)
	head := snapshot("HEAD",
		[]*intentv1.LogicalCluster{mecCluster(member("central-cluster", 0), member("seoul-edge-cluster", 1), member("busan-edge-cluster", 1), member("gwangju-edge-cluster", 1), member("daegu-edge-cluster", 2))},
		clusterPlan("central-cluster", "mec-cluster", "v1.25.0", 4),
		clusterPlan("seoul-edge-cluster", "mec-cluster", "v1.26.0", 3),
		clusterPlan("busan-edge-cluster", "mec-cluster", "v1.26.0", 3),
		clusterPlan("gwangju-edge-cluster", "mec-cluster", "v1.26.0", 3),
		clusterPlan("daegu-edge-cluster", "mec-cluster", "v1.26.0", 3),
	)
	return base, head
}

func TestCompareCallsOutUpgradesWavesAndMembership(t *testing.T) {
	base, head := upgradeChange()
	r, err := Compare(base, head)
	require.NoError(t, err)

	assert.Equal(t, Summary{Added: 1, Removed: 1, Changed: 4, Unchanged: 0}, r.Summary)
	byName := map[string]ClusterChange{}
	for _, c := range r.Clusters {
		byName[c.Name] = c
	}
	assert.Equal(t, &ValueChange{From: "v1.25.0", To: "v1.26.0"}, byName["busan-edge-cluster"].Upgrade)
	assert.Nil(t, byName["central-cluster"].Upgrade)
	assert.Equal(t, []FieldChange{{Field: "workerMachineCount", From: "3", To: "4"}}, byName["central-cluster"].Fields)
	assert.Equal(t, Added, byName["daegu-edge-cluster"].Action)
	assert.Equal(t, Removed, byName["lab-cluster"].Action)

	require.Len(t, r.LogicalClusters, 1)
	lc := r.LogicalClusters[0]
	assert.Equal(t, []string{"daegu-edge-cluster"}, lc.MembersAdded)
	assert.Equal(t, []Wave{
		{Wave: 0, Members: []string{"central-cluster"}},
		{Wave: 1, Members: []string{"seoul-edge-cluster", "busan-edge-cluster", "gwangju-edge-cluster"}},
		{Wave: 2, Members: []string{"daegu-edge-cluster"}},
	}, lc.Waves)
	assert.Equal(t, "2", lc.MaxUnavailable)
}

func TestCompareOfIdenticalSnapshotsIsEmpty(t *testing.T) {
	base, _ := upgradeChange()
	same, _ := upgradeChange()
	r, err := Compare(base, same)
	require.NoError(t, err)
	assert.True(t, r.Empty())
	assert.Equal(t, 5, r.Summary.Unchanged)

	var out bytes.Buffer
	require.NoError(t, r.Write(&out, Text))
	assert.Contains(t, out.String(), "No cluster changes.")
}

func TestReportFormatsMatchGoldenFiles(t *testing.T) {
	base, head := upgradeChange()
	r, err := Compare(base, head)
	require.NoError(t, err)
	for _, f := range []struct {
		format Format
		file   string
	}{{Text, "upgrade.txt"}, {Markdown, "upgrade.md"}, {JSON, "upgrade.json"}} {
		t.Run(string(f.format), func(t *testing.T) {
			var out bytes.Buffer
			require.NoError(t, r.Write(&out, f.format))
			golden := filepath.Join("testdata", f.file)
			if *update {
				require.NoError(t, os.WriteFile(golden, out.Bytes(), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err)
			assert.Equal(t, string(want), out.String())
		})
	}
}

func TestUnknownFormat(t *testing.T) {
	err := (&Report{}).Write(&bytes.Buffer{}, "html")
	assert.EqualError(t, err, `unknown format "html": want text, markdown or json`)
}

// versionChange is one cluster's version moving from base to head, as a member of
// mec-cluster at spec.clusters[i] of its file.
func versionChangePlans(name string, i int, from, to string, list ...string) (*resolve.Plan, *resolve.Plan) {
	b, h := clusterPlan(name, "mec-cluster", from, 3), clusterPlan(name, "mec-cluster", to, 3)
	h.KubernetesVersions = list
	for _, p := range []*resolve.Plan{b, h} {
		p.Origin = loader.Origin{Pos: loader.Position{File: "tenants/starlab/mec-cluster.yaml", Line: 9 + 8*i, Column: 7}}
		p.OriginField = fmt.Sprintf("spec.clusters[%d]", i)
	}
	return b, h
}

// The change the demo tried, and worse: the centre downgraded, one edge skipping a minor
// without a list, one stepping through the list, one whose jump the list cannot cover.
func versionRulesChange() (*Snapshot, *Snapshot) {
	chain := []string{"v1.35.2", "v1.36.1", "v1.37.0"}
	lc := []*intentv1.LogicalCluster{mecCluster(member("central-cluster", 0), member("seoul-edge-cluster", 1), member("busan-edge-cluster", 1), member("gwangju-edge-cluster", 1))}
	cb, ch := versionChangePlans("central-cluster", 0, "v1.35.0", "v1.34.1")
	sb, sh := versionChangePlans("seoul-edge-cluster", 1, "v1.35.0", "v1.37.0")
	bb, bh := versionChangePlans("busan-edge-cluster", 2, "v1.34.2", "v1.37.0", chain...)
	gb, gh := versionChangePlans("gwangju-edge-cluster", 3, "v1.36.1", "v1.39.0", chain...)
	return snapshot("origin/main", lc, cb, sb, bb, gb), snapshot("HEAD", lc, ch, sh, bh, gh)
}

func TestCompareBlocksChangesThatBreakVersionRules(t *testing.T) {
	base, head := versionRulesChange()
	r, err := Compare(base, head)
	require.NoError(t, err)
	assert.True(t, r.IsBlocked())
	assert.Equal(t, Summary{Changed: 4, Blocked: 3}, r.Summary)
	byName := map[string]ClusterChange{}
	for _, c := range r.Clusters {
		byName[c.Name] = c
	}
	assert.Equal(t, &Blocked{Rule: "no-downgrade", At: "tenants/starlab/mec-cluster.yaml:9:7", Field: "spec.clusters[0]",
		Message: "kubernetesVersion v1.34.1 is older than v1.35.0, which the control plane runs: Kubernetes cannot downgrade a control plane (etcd and storage versions only move forward)"},
		byName["central-cluster"].Blocked)
	assert.Equal(t, "no-minor-skip", byName["seoul-edge-cluster"].Blocked.Rule)
	assert.Equal(t, "missing-intermediate-minor", byName["gwangju-edge-cluster"].Blocked.Rule)
	assert.Contains(t, byName["gwangju-edge-cluster"].Blocked.Message, "lists no version of minor v1.38")
	assert.Nil(t, byName["busan-edge-cluster"].Blocked)
	assert.Equal(t, []string{"v1.35.2", "v1.36.1", "v1.37.0"}, byName["busan-edge-cluster"].Steps)
}

func TestBlockedAndChainedPlansMatchGoldenFiles(t *testing.T) {
	base, head := versionRulesChange()
	r, err := Compare(base, head)
	require.NoError(t, err)
	for _, f := range []struct {
		format Format
		file   string
	}{{Text, "version-rules.txt"}, {Markdown, "version-rules.md"}, {JSON, "version-rules.json"}} {
		t.Run(string(f.format), func(t *testing.T) {
			var out bytes.Buffer
			require.NoError(t, r.Write(&out, f.format))
			golden := filepath.Join("testdata", f.file)
			if *update {
				require.NoError(t, os.WriteFile(golden, out.Bytes(), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err)
			assert.Equal(t, string(want), out.String())
		})
	}
}

// A pool handed to the cluster autoscaler shows as its range, so a reviewer sees the switch
// in both directions.
func TestPlanShowsTheWorkersRange(t *testing.T) {
	fixed := clusterPlan("edge", "", "v1.30.1", 3)
	ranged := clusterPlan("edge", "", "v1.30.1", 1)
	ranged.WorkerAutoscaling = &resolve.WorkerRange{Min: 1, Max: 5}
	for _, tc := range []struct {
		base, head *resolve.Plan
		want       FieldChange
	}{
		{fixed, ranged, FieldChange{Field: "workerMachineCount", From: "3", To: "autoscaled 1..5"}},
		{ranged, fixed, FieldChange{Field: "workerMachineCount", From: "autoscaled 1..5", To: "3"}},
	} {
		r, err := Compare(snapshot("base", nil, tc.base), snapshot("head", nil, tc.head))
		require.NoError(t, err)
		require.Len(t, r.Clusters, 1)
		assert.Equal(t, []FieldChange{tc.want}, r.Clusters[0].Fields)
	}
}
