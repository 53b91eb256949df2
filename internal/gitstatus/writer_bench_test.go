package gitstatus_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/internal/apply"
	"github.com/dcn-ssu/lkaas/internal/gitstatus"
)

func bigFleet(n int, phase automationv1alpha1.ClusterPhase) gitstatus.Snapshot {
	fleet := &automationv1alpha1.Fleet{ObjectMeta: metav1.ObjectMeta{Namespace: "tenant", Name: "fleet"}}
	fleet.Status.LastAppliedRevision = "main@sha1:1111111111111111111111111111111111111111"
	s := gitstatus.Snapshot{Fleet: fleet}
	for i := range n {
		c := automationv1alpha1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: "tenant", Name: fmt.Sprintf("edge-%04d", i),
			Labels: map[string]string{apply.FleetNameLabel: "fleet", apply.FleetNamespaceLabel: "tenant"}}}
		c.Status.Phase = phase
		c.Status.SourceRevision = fleet.Status.LastAppliedRevision
		c.Status.ControlPlaneVersion, c.Status.WorkersVersion = "v1.34.1", "v1.34.1"
		c.Status.Conditions = []metav1.Condition{{Type: "Ready", Status: metav1.ConditionFalse, Reason: "Provisioning", Message: "waiting for the control plane"}}
		s.Clusters = append(s.Clusters, c)
	}
	return s
}

// BenchmarkStatusCommit1000Clusters: a 1,000-cluster Fleet whose clusters all change phase
// at once. One op renders the documents, clones the status branch, plans, commits and pushes
// one commit; it reports the commit's changed bytes and files.
func BenchmarkStatusCommit1000Clusters(b *testing.B) {
	_, url := gitServer(b)
	w := &gitstatus.Writer{TempDir: b.TempDir()}
	tgt := target(url)
	ctx := context.Background()
	write := func(s gitstatus.Snapshot) (gitstatus.Result, int, int) {
		docs, err := gitstatus.Documents("status/", s)
		require.NoError(b, err)
		var bytes, files int
		res, err := w.Write(ctx, tgt, "status/", func(tree map[string][]byte) (map[string][]byte, string, error) {
			changes, err := gitstatus.Plan("status/", "tenant/fleet", docs, tree)
			bytes, files = 0, len(changes)
			for _, d := range changes {
				bytes += len(d)
			}
			return changes, "status", err
		})
		require.NoError(b, err)
		return res, bytes, files
	}
	phases := []automationv1alpha1.ClusterPhase{automationv1alpha1.ClusterPhaseProvisioning, automationv1alpha1.ClusterPhaseReady}
	write(bigFleet(1000, phases[1])) // the branch exists with the fleet on it
	b.ResetTimer()
	var bytes, files int
	for i := 0; b.Loop(); i++ {
		res, n, f := write(bigFleet(1000, phases[i%2]))
		require.NotEmpty(b, res.Commit)
		require.Equal(b, 1, res.Attempts)
		bytes, files = n, f
	}
	b.ReportMetric(float64(bytes), "commit-bytes")
	b.ReportMetric(float64(files), "commit-files")
}
