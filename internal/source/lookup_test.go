package source_test

import (
	"context"
	"testing"
	"time"

	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/internal/plane"
	"github.com/dcn-ssu/lkaas/internal/source"
	"github.com/dcn-ssu/lkaas/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Run(m, &env, plane.WithFluxSourceCRDs()) }

func createGitRepository(t *testing.T, namespace, name string) {
	t.Helper()
	repo := &sourcev1.GitRepository{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: sourcev1.GitRepositorySpec{URL: "http://127.0.0.1:1/fleet.git",
			Interval: metav1.Duration{Duration: time.Minute}},
	}
	require.NoError(t, env.Client.Create(context.Background(), repo))
}

func TestGetSource(t *testing.T) {
	tenant, other := env.Namespace(t), env.Namespace(t)
	createGitRepository(t, tenant, "fleet")
	createGitRepository(t, other, "fleet")
	ctx := context.Background()

	t.Run("in the Fleet's namespace", func(t *testing.T) {
		src, err := source.Get(ctx, env.Client, tenant, automationv1alpha1.SourceReference{Kind: "GitRepository", Name: "fleet"}, false)
		require.NoError(t, err)
		assert.Equal(t, tenant, src.(*sourcev1.GitRepository).Namespace)
	})
	t.Run("another namespace is refused by default", func(t *testing.T) {
		_, err := source.Get(ctx, env.Client, tenant, automationv1alpha1.SourceReference{Kind: "GitRepository", Name: "fleet", Namespace: other}, false)
		var denied *source.AccessDeniedError
		require.ErrorAs(t, err, &denied)
		assert.Contains(t, err.Error(), "cross-namespace source references are not allowed")
	})
	t.Run("another namespace when the controller allows it", func(t *testing.T) {
		src, err := source.Get(ctx, env.Client, tenant, automationv1alpha1.SourceReference{Kind: "GitRepository", Name: "fleet", Namespace: other}, true)
		require.NoError(t, err)
		assert.Equal(t, other, src.(*sourcev1.GitRepository).Namespace)
	})
	t.Run("a missing source is NotFound", func(t *testing.T) {
		_, err := source.Get(ctx, env.Client, tenant, automationv1alpha1.SourceReference{Kind: "OCIRepository", Name: "fleet"}, false)
		assert.True(t, apierrors.IsNotFound(err), "got %v", err)
	})
}
