package apply

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The repository files a cluster renders from go out before the cluster, and are deleted
// after it: a Cluster controller that sees the cluster first would fail its render.
func TestRepositoryFilesAreAppliedBeforeClustersAndPrunedAfter(t *testing.T) {
	f := newFixture(t)
	ctx := ctxFor(t)

	files := &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "fleet-files"},
		Data:       map[string]string{"template.yaml": "kind: Cluster"},
	}
	desired := append([]client.Object{files}, smallFleet(f.ns)...)
	desired[0], desired[3] = desired[3], desired[0] // the files in the middle of the set
	changes, inventory, err := f.applier.Apply(ctx, desired, nil, "r1")
	require.NoError(t, err)
	assert.Equal(t, []string{"ConfigMap", "InfrastructureProfile", "ClusterCatalog", "Cluster", "Cluster", "LogicalCluster"},
		kindsOf(t, changes.Entries))

	changes, err = f.applier.Prune(ctx, inventory)
	require.NoError(t, err)
	assert.Equal(t, []string{"LogicalCluster", "Cluster", "Cluster", "ClusterCatalog", "InfrastructureProfile", "ConfigMap"},
		kindsOf(t, changes.Entries))
}

func kindsOf(t *testing.T, entries []ChangeSetEntry) []string {
	t.Helper()
	var kinds []string
	for _, e := range entries {
		ref, err := ParseEntry(InventoryEntry{ID: e.ID, Version: "v"})
		require.NoError(t, err)
		kinds = append(kinds, ref.GVK.Kind)
	}
	return kinds
}
