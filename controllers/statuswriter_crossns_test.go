package controllers

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
)

// noReads fails the test on any read: the status writer must not look into another
// namespace when cross-namespace references are not allowed.
type noReads struct{ t *testing.T }

func (n noReads) Get(_ context.Context, key client.ObjectKey, _ client.Object, _ ...client.GetOption) error {
	n.t.Errorf("read %s", key)
	return nil
}

func (n noReads) List(context.Context, client.ObjectList, ...client.ListOption) error {
	n.t.Error("listed")
	return nil
}

func TestStatusWriterRefusesAnotherNamespacesGitRepository(t *testing.T) {
	fleet := &automationv1alpha1.Fleet{
		ObjectMeta: metav1.ObjectMeta{Namespace: "tenant-a", Name: "fleet"},
		Spec: automationv1alpha1.FleetSpec{
			SourceRef: automationv1alpha1.SourceReference{Kind: "GitRepository", Name: "repo", Namespace: "tenant-b"},
			WriteBack: &automationv1alpha1.WriteBack{},
		},
	}
	w := &StatusWriter{Cache: noReads{t}, APIReader: noReads{t}}
	_, err := w.writeTarget(context.Background(), fleet)
	require.Error(t, err)
	assert.Equal(t, "cross-namespace source references are not allowed: GitRepository tenant-b/repo is not in namespace tenant-a (the controller runs without --allow-cross-namespace-refs); set spec.writeBack.url", err.Error())

	// With a URL of its own, the status goes there and tenant-b's repository is not read.
	fleet.Spec.WriteBack.URL = "https://git.example.com/tenant-a/status.git"
	target, err := w.writeTarget(context.Background(), fleet)
	require.NoError(t, err)
	assert.Equal(t, "https://git.example.com/tenant-a/status.git", target.URL)
}
