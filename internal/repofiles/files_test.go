package repofiles

import (
	"io/fs"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/dcn-ssu/lkaas/internal/loader"
	"github.com/dcn-ssu/lkaas/internal/render"
	"github.com/dcn-ssu/lkaas/internal/resolve"
)

const exampleRepo = "../../gitops-examples/fleet-repo"

var credentials = map[string]string{"OPENSTACK_CLOUD_YAML_B64": "Y2xvdWRzOiB7fQo="}

// What the Fleet controller publishes is what the renderer needs: rendering from the files
// ConfigMap gives the same bytes as rendering from the repository.
func TestRenderingFromPublishedFilesEqualsRenderingFromTheRepository(t *testing.T) {
	set, err := loader.LoadDir(exampleRepo, loader.Options{})
	require.NoError(t, err)
	paths := Referenced(set)
	assert.Equal(t, []string{
		"addons/multus/multus.yaml",
		"addons/multus/networks.yaml",
		"addons/storage/default-storageclass.yaml",
		"templates/docker-inmemory/cluster-template.yaml",
		"templates/openstack/cluster-template.yaml",
	}, paths)

	files, err := Read(exampleRepo, paths)
	require.NoError(t, err)
	cm, err := ConfigMap(types.NamespacedName{Namespace: "default", Name: "platform"}, files)
	require.NoError(t, err)
	assert.Equal(t, "platform-files", cm.Name)
	assert.Equal(t, "true", cm.Labels[FilesLabel])
	for key := range cm.Data {
		assert.Regexp(t, `^[-._a-zA-Z0-9]+$`, key, "a valid ConfigMap key")
	}
	published, err := FS(cm)
	require.NoError(t, err)

	plans, err := resolve.Resolve(set, resolve.Options{})
	require.NoError(t, err)
	fromRepo := render.NewRenderer(render.Options{Root: exampleRepo, Variables: credentials})
	fromFiles := render.NewRenderer(render.Options{Files: published, Variables: credentials})
	rendered := 0
	for _, p := range plans {
		if p.Infrastructure.Template != nil && p.Infrastructure.Template.URL != "" {
			continue
		}
		a, err := fromRepo.Render(p)
		require.NoError(t, err)
		b, err := fromFiles.Render(p)
		require.NoError(t, err)
		ay, err := a.YAML()
		require.NoError(t, err)
		by, err := b.YAML()
		require.NoError(t, err)
		assert.Equal(t, string(ay), string(by), p.Name)
		rendered++
	}
	assert.Equal(t, 4, rendered, "the four mec-cluster members")
}

// An administrator's file in a shared namespace wins over a tenant's file of the same path.
func TestSharedNamespacesFilesComeFirst(t *testing.T) {
	cm := func(ns, body string) corev1.ConfigMap {
		c, err := ConfigMap(types.NamespacedName{Namespace: ns, Name: "fleet"}, map[string][]byte{"templates/t.yaml": []byte(body)})
		require.NoError(t, err)
		return *c
	}
	byNamespace := map[string][]corev1.ConfigMap{"default": {cm("default", "admin")}, "starlab": {cm("starlab", "tenant")}}
	files, err := FSForNamespaces(func(ns string) ([]corev1.ConfigMap, error) { return byNamespace[ns], nil }, []string{"default"}, "starlab")
	require.NoError(t, err)
	b, err := fs.ReadFile(files, "templates/t.yaml")
	require.NoError(t, err)
	assert.Equal(t, "admin", string(b))

	_, err = fs.ReadFile(files, "../etc/passwd")
	assert.Error(t, err)
	_, err = fs.ReadFile(files, "templates/missing.yaml")
	assert.ErrorIs(t, err, fs.ErrNotExist)
}
