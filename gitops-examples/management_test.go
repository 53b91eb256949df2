package examples

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dcn-ssu/lkaas/internal/testenv"
)

func management(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	var objs []*unstructured.Unstructured
	require.NoError(t, filepath.WalkDir("management", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yaml") {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(string(data)), 4096)
		for {
			u := &unstructured.Unstructured{}
			if err := dec.Decode(&u.Object); errors.Is(err, io.EOF) {
				return nil
			} else if err != nil {
				return err
			}
			if len(u.Object) > 0 {
				u.SetAnnotations(map[string]string{"test/file": p})
				objs = append(objs, u)
			}
		}
	}))
	return objs
}

// The bootstrap layout holds together: Flux Kustomizations point at directories that exist and
// depend on Kustomizations that exist, each directory's kustomization.yaml lists files that
// exist, and the HelmRelease's chart is this project's chart.
func TestManagementRepositoryLayout(t *testing.T) {
	objs := management(t)
	kustomizations := map[string]bool{}
	for _, o := range objs {
		if o.GetKind() == "Kustomization" && strings.HasPrefix(o.GetAPIVersion(), "kustomize.toolkit.fluxcd.io/") {
			kustomizations[o.GetName()] = true
		}
	}
	require.NotEmpty(t, kustomizations)
	for _, o := range objs {
		switch {
		case o.GetKind() == "Kustomization" && strings.HasPrefix(o.GetAPIVersion(), "kustomize.toolkit.fluxcd.io/"):
			path, _, _ := unstructured.NestedString(o.Object, "spec", "path")
			assert.DirExists(t, filepath.Join("management", path), o.GetName())
			deps, _, _ := unstructured.NestedSlice(o.Object, "spec", "dependsOn")
			for _, d := range deps {
				assert.True(t, kustomizations[d.(map[string]any)["name"].(string)], "%s depends on a Kustomization that exists", o.GetName())
			}
		case o.GetKind() == "Kustomization": // kustomize's own file
			dir := filepath.Dir(o.GetAnnotations()["test/file"])
			resources, _, _ := unstructured.NestedStringSlice(o.Object, "resources")
			for _, r := range resources {
				assert.FileExists(t, filepath.Join(dir, r))
			}
		case o.GetKind() == "HelmRelease":
			chart, _, _ := unstructured.NestedString(o.Object, "spec", "chart", "spec", "chart")
			assert.FileExists(t, filepath.Join("..", chart, "Chart.yaml"), "the chart path inside this project's repository")
		}
	}
}

// The Kubernetes objects the layout creates for L-KaaS and Flux sources are accepted by the
// real API server with the L-KaaS and Flux source CRDs (server-side dry run).
func TestManagementObjectsAreValid(t *testing.T) {
	env, err := testenv.Start(testenv.WithFluxSourceCRDs())
	require.NoError(t, err)
	t.Cleanup(func() { _ = env.Stop() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, ns := range []string{"flux-system", "starlab", "lkaas-system"} {
		require.NoError(t, client.IgnoreAlreadyExists(env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})))
	}
	checked := 0
	for _, o := range management(t) {
		group := strings.Split(o.GetAPIVersion(), "/")[0]
		if group != "automation.dcn.ssu.ac.kr" && group != "source.toolkit.fluxcd.io" {
			continue // kustomize-, helm- and Flux toolkit kinds this API server does not serve
		}
		o.SetAnnotations(nil)
		assert.NoError(t, env.Client.Create(ctx, o, client.DryRunAll), "%s %s/%s", o.GetKind(), o.GetNamespace(), o.GetName())
		checked++
	}
	assert.GreaterOrEqual(t, checked, 5)
}
