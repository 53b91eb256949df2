package controllers_test

import (
	"context"
	"io/fs"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/internal/repofiles"
)

func TestFleetAppliesEachCommit(t *testing.T) {
	ns := env.Namespace(t)
	r := newRepo(t, ns, "fleet-repo")
	rev1 := r.push(t, fleetFiles("v1.30.1", "seoul", "busan"))
	f := newFleet(t, r)

	got := waitApplied(t, f, rev1)
	assert.Equal(t, []string{"busan", "seoul"}, namesOf(t, ns))
	assert.Equal(t, rev1, got.Status.LastAttemptedRevision)
	assert.Equal(t, "Applied revision: "+rev1, readyMessage(got))
	require.NotNil(t, got.Status.Inventory)
	assert.Len(t, got.Status.Inventory.Entries, 5, "a profile, a catalog, two clusters and the published files")
	// Which phase is the Cluster controller's business (this test's template renders nothing);
	// the Fleet counts both clusters.
	var counted int32
	for _, n := range got.Status.Clusters {
		counted += n
	}
	assert.Equal(t, int32(2), counted)
	assert.Len(t, got.Status.Clusters, len(automationv1alpha1.ClusterPhases), "every phase counted, zeros too")

	seoul := &automationv1alpha1.Cluster{}
	require.NoError(t, env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "seoul"}, seoul))
	assert.Equal(t, rev1, seoul.Annotations[automationv1alpha1.SourceRevisionAnnotation])

	t.Run("the files its profiles name are published for rendering", func(t *testing.T) {
		cm := &corev1.ConfigMap{}
		require.NoError(t, env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "fleet-files"}, cm))
		files, err := repofiles.FS(cm)
		require.NoError(t, err)
		b, err := fs.ReadFile(files, "templates/cluster-template.yaml")
		require.NoError(t, err)
		assert.Equal(t, "# a template\n", string(b))
	})

	t.Run("an edit is applied", func(t *testing.T) {
		rev2 := r.push(t, fleetFiles("v1.31.0", "seoul", "busan"))
		waitApplied(t, f, rev2)
		profile := &automationv1alpha1.InfrastructureProfileList{}
		require.NoError(t, env.Client.List(context.Background(), profile, client.InNamespace(ns)))
		require.Len(t, profile.Items, 1)
		assert.Contains(t, string(profile.Items[0].Spec.Values.Raw), "v1.31.0")
		assert.Equal(t, rev2, profile.Items[0].Annotations[automationv1alpha1.SourceRevisionAnnotation])

		// Unchanged documents keep the revision their content came from: nothing rewrites them.
		require.NoError(t, env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "seoul"}, seoul))
		assert.Equal(t, rev1, seoul.Annotations[automationv1alpha1.SourceRevisionAnnotation])
	})

	t.Run("a removed document is pruned", func(t *testing.T) {
		rev3 := r.push(t, fleetFiles("v1.31.0", "seoul"))
		got := waitApplied(t, f, rev3)
		assert.Equal(t, []string{"seoul"}, namesOf(t, ns))
		assert.Len(t, got.Status.Inventory.Entries, 4)
	})

	t.Run("events tell each applied revision", func(t *testing.T) {
		var evs corev1.EventList
		require.Eventually(t, func() bool {
			require.NoError(t, env.Client.List(context.Background(), &evs, client.InNamespace(ns)))
			return len(evs.Items) >= 3
		}, defaultWait, tick)
		var reasons []string
		for _, e := range evs.Items {
			reasons = append(reasons, e.Reason)
		}
		assert.Contains(t, reasons, "ReconciliationSucceeded")
	})
}

func TestFleetWithoutPruneLeavesRemovedDocuments(t *testing.T) {
	ns := env.Namespace(t)
	r := newRepo(t, ns, "fleet-repo")
	rev1 := r.push(t, fleetFiles("v1.30.1", "seoul", "busan"))
	f := newFleet(t, r, func(f *automationv1alpha1.Fleet) { f.Spec.Prune = false })
	waitApplied(t, f, rev1)

	rev2 := r.push(t, fleetFiles("v1.30.1", "seoul"))
	got := waitApplied(t, f, rev2)
	assert.Equal(t, []string{"busan", "seoul"}, namesOf(t, ns), "busan stays")
	assert.Len(t, got.Status.Inventory.Entries, 4, "but it leaves the inventory")
}
