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

	"github.com/dcn-ssu/lkaas/internal/plane"
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
// exist (or remote resources), a HelmRelease's chart from this project's repository is this
// project's chart, one from a Helm repository is pinned, and HelmReleases depend on
// HelmReleases that exist.
func TestManagementRepositoryLayout(t *testing.T) {
	objs := management(t)
	kustomizations := map[string]bool{}
	releases := map[string]bool{}
	for _, o := range objs {
		if o.GetKind() == "Kustomization" && strings.HasPrefix(o.GetAPIVersion(), "kustomize.toolkit.fluxcd.io/") {
			kustomizations[o.GetName()] = true
		}
		if o.GetKind() == "HelmRelease" {
			releases[o.GetNamespace()+"/"+o.GetName()] = true
		}
	}
	require.NotEmpty(t, kustomizations)
	for _, name := range []string{"infra-controllers", "infra-capi-providers", "infra-lkaas", "infra-configs"} {
		assert.True(t, kustomizations[name], "Flux Kustomization %s", name)
	}
	for _, o := range objs {
		switch {
		case o.GetKind() == "Kustomization" && strings.HasPrefix(o.GetAPIVersion(), "kustomize.toolkit.fluxcd.io/"):
			path, _, _ := unstructured.NestedString(o.Object, "spec", "path")
			assert.DirExists(t, filepath.Join("management", path), o.GetName())
			assert.FileExists(t, filepath.Join("management", path, "kustomization.yaml"), o.GetName())
			for _, d := range dependsOn(o) {
				assert.True(t, kustomizations[d], "%s depends on a Kustomization that exists", o.GetName())
			}
		case o.GetKind() == "Kustomization": // kustomize's own file
			dir := filepath.Dir(o.GetAnnotations()["test/file"])
			resources, _, _ := unstructured.NestedStringSlice(o.Object, "resources")
			for _, r := range resources {
				if strings.HasPrefix(r, "https://") {
					continue // a remote resource, built by kustomize-controller
				}
				assert.FileExists(t, filepath.Join(dir, r))
			}
		case o.GetKind() == "HelmRelease":
			chart, _, _ := unstructured.NestedString(o.Object, "spec", "chart", "spec", "chart")
			kind, _, _ := unstructured.NestedString(o.Object, "spec", "chart", "spec", "sourceRef", "kind")
			if kind == "GitRepository" {
				assert.FileExists(t, filepath.Join("..", chart, "Chart.yaml"), "the chart path inside this project's repository")
			} else {
				version, _, _ := unstructured.NestedString(o.Object, "spec", "chart", "spec", "version")
				assert.NotEmpty(t, version, "HelmRelease %s pins its chart's version", o.GetName())
			}
			deps, _, _ := unstructured.NestedSlice(o.Object, "spec", "dependsOn")
			for _, d := range deps {
				m := d.(map[string]any)
				ns, _ := m["namespace"].(string)
				if ns == "" {
					ns = o.GetNamespace()
				}
				assert.True(t, releases[ns+"/"+m["name"].(string)], "HelmRelease %s depends on a HelmRelease that exists", o.GetName())
			}
		}
	}
}

func dependsOn(o *unstructured.Unstructured) []string {
	deps, _, _ := unstructured.NestedSlice(o.Object, "spec", "dependsOn")
	var names []string
	for _, d := range deps {
		names = append(names, d.(map[string]any)["name"].(string))
	}
	return names
}

// Every HelmRelease's chart comes from a source the layout defines: its sourceRef names a
// HelmRepository or GitRepository (in the HelmRelease's namespace unless it says otherwise).
func TestManagementHelmReleaseSources(t *testing.T) {
	objs := management(t)
	sources := map[string]bool{}
	for _, o := range objs {
		if strings.HasPrefix(o.GetAPIVersion(), "source.toolkit.fluxcd.io/") {
			sources[o.GetKind()+" "+o.GetNamespace()+"/"+o.GetName()] = true
		}
	}
	checked := 0
	for _, o := range objs {
		if o.GetKind() != "HelmRelease" {
			continue
		}
		ref, _, _ := unstructured.NestedStringMap(o.Object, "spec", "chart", "spec", "sourceRef")
		assert.Contains(t, []string{"HelmRepository", "GitRepository"}, ref["kind"], "HelmRelease %s", o.GetName())
		ns := ref["namespace"]
		if ns == "" {
			ns = o.GetNamespace()
		}
		key := ref["kind"] + " " + ns + "/" + ref["name"]
		assert.True(t, sources[key], "HelmRelease %s/%s: its sourceRef %s is defined in the layout", o.GetNamespace(), o.GetName(), key)
		checked++
	}
	assert.GreaterOrEqual(t, checked, 3) // cert-manager, the Cluster API Operator, L-KaaS
}

// The Cluster API Operator's chart and the API module whose CRDs the dry run installs are the
// same release.
const (
	capiOperatorModule  = "sigs.k8s.io/cluster-api-operator"
	capiOperatorVersion = "v0.29.0"
)

// The Cluster API providers are the operator's objects, of the API version it serves, one of
// each kind L-KaaS needs, each in its own namespace (which the layout creates), at versions of
// the Cluster API release the project builds against; the Flux Kustomization that applies them
// comes after the one installing the operator and before L-KaaS and the Fleets.
func TestManagementClusterAPIProviders(t *testing.T) {
	objs := management(t)
	want := map[string]struct{ name, version string }{
		"CoreProvider":           {"cluster-api", plane.ClusterAPIVersion},
		"BootstrapProvider":      {"kubeadm", plane.ClusterAPIVersion},
		"ControlPlaneProvider":   {"kubeadm", plane.ClusterAPIVersion},
		"InfrastructureProvider": {"openstack", "v0.15.1"},
		"AddonProvider":          {"helm", plane.HelmAddonVersion},
	}
	namespaces := map[string]bool{}
	var operatorChart string
	var providersDir string
	kustomizations := map[string]*unstructured.Unstructured{}
	for _, o := range objs {
		switch {
		case o.GetKind() == "Namespace":
			namespaces[o.GetName()] = true
		case o.GetKind() == "HelmRelease" && o.GetName() == "cluster-api-operator":
			operatorChart, _, _ = unstructured.NestedString(o.Object, "spec", "chart", "spec", "version")
			assert.Equal(t, "capi-operator-system", o.GetNamespace())
		case o.GetKind() == "Kustomization" && strings.HasPrefix(o.GetAPIVersion(), "kustomize.toolkit.fluxcd.io/"):
			kustomizations[o.GetName()] = o
		}
	}
	assert.Equal(t, strings.TrimPrefix(capiOperatorVersion, "v"), operatorChart, "the operator's chart version")

	seen := map[string]string{} // kind -> namespace
	for _, o := range objs {
		if !strings.HasPrefix(o.GetAPIVersion(), "operator.cluster.x-k8s.io/") {
			continue
		}
		assert.Equal(t, "operator.cluster.x-k8s.io/v1alpha2", o.GetAPIVersion(), "%s %s", o.GetKind(), o.GetName())
		w, ok := want[o.GetKind()]
		if !assert.True(t, ok, "unexpected provider kind %s", o.GetKind()) {
			continue
		}
		assert.NotContains(t, seen, o.GetKind(), "one %s", o.GetKind())
		seen[o.GetKind()] = o.GetNamespace()
		assert.Equal(t, w.name, o.GetName(), o.GetKind())
		version, _, _ := unstructured.NestedString(o.Object, "spec", "version")
		assert.Equal(t, w.version, version, "%s %s", o.GetKind(), o.GetName())
		assert.True(t, namespaces[o.GetNamespace()], "the layout creates %s's namespace %s", o.GetKind(), o.GetNamespace())
		dir := filepath.Dir(o.GetAnnotations()["test/file"])
		if providersDir == "" {
			providersDir = dir
		}
		assert.Equal(t, providersDir, dir, "the providers are applied together")
	}
	assert.Len(t, seen, len(want))
	owners := map[string]int{}
	for _, ns := range seen {
		owners[ns]++
	}
	for ns, n := range owners {
		assert.Equal(t, 1, n, "one provider in namespace %s", ns)
	}

	providers := kustomizations["infra-capi-providers"]
	require.NotNil(t, providers)
	path, _, _ := unstructured.NestedString(providers.Object, "spec", "path")
	assert.Equal(t, providersDir, filepath.Join("management", path), "infra-capi-providers applies the provider objects")
	wait, _, _ := unstructured.NestedBool(providers.Object, "spec", "wait")
	assert.True(t, wait, "infra-capi-providers waits for the providers")
	assert.Contains(t, dependsOn(providers), "infra-controllers", "the operator's CRDs come first")
	for _, later := range []string{"infra-lkaas", "infra-configs"} {
		require.Contains(t, kustomizations, later)
		assert.Contains(t, dependsOn(kustomizations[later]), "infra-capi-providers", "%s after the providers", later)
	}
}

// The Kubernetes objects the layout creates for L-KaaS, Flux sources and the Cluster API
// Operator are accepted by the real API server with the L-KaaS, Flux source and operator CRDs
// (server-side dry run). The operator's CRDs come from its module's zip, like the other
// upstream CRDs testenv installs.
func TestManagementObjectsAreValid(t *testing.T) {
	operator, err := plane.ModuleDir(capiOperatorModule, capiOperatorVersion)
	require.NoError(t, err)
	env, err := testenv.Start(plane.WithFluxSourceCRDs(), plane.WithCRDDirs(filepath.Join(operator, "config", "crd", "bases")))
	require.NoError(t, err)
	t.Cleanup(func() { _ = env.Stop() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	objs := management(t)
	namespaces := []string{"flux-system"}
	for _, o := range objs {
		if o.GetKind() == "Namespace" {
			namespaces = append(namespaces, o.GetName())
		}
	}
	for _, ns := range namespaces {
		require.NoError(t, client.IgnoreAlreadyExists(env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})))
	}
	checked := map[string]int{}
	for _, o := range objs {
		group := strings.Split(o.GetAPIVersion(), "/")[0]
		if group != "automation.dcn.ssu.ac.kr" && group != "source.toolkit.fluxcd.io" && group != "operator.cluster.x-k8s.io" {
			continue // kustomize-, helm- and Flux toolkit kinds this API server does not serve
		}
		o.SetAnnotations(nil)
		assert.NoError(t, env.Client.Create(ctx, o, client.DryRunAll), "%s %s/%s", o.GetKind(), o.GetNamespace(), o.GetName())
		checked[group]++
	}
	assert.GreaterOrEqual(t, checked["automation.dcn.ssu.ac.kr"], 2)
	assert.GreaterOrEqual(t, checked["source.toolkit.fluxcd.io"], 5)
	assert.Equal(t, 5, checked["operator.cluster.x-k8s.io"])
}
