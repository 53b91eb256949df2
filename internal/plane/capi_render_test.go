package plane

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The CAPI objects StartClusterAPI installs are rendered like `kubectl kustomize config/crd`:
// conversion webhooks and contract labels present, every webhook sent to its own manager's
// port on 127.0.0.1, and the webhook configurations of the four providers named apart.
func TestClusterAPIObjectsPointAtLocalManagers(t *testing.T) {
	ports := []int{11001, 11002, 11003, 11004}
	objs, err := clusterAPIObjects(ports, "Q0E=")
	require.NoError(t, err)

	crds := map[string]*unstructured.Unstructured{}
	configs := map[string]bool{}
	for _, o := range objs {
		switch o.GetKind() {
		case "CustomResourceDefinition":
			crds[o.GetName()] = o
		default:
			assert.False(t, configs[o.GetKind()+"/"+o.GetName()], "duplicate %s %s", o.GetKind(), o.GetName())
			configs[o.GetKind()+"/"+o.GetName()] = true
			hooks, _, _ := unstructured.NestedSlice(o.Object, "webhooks")
			require.NotEmpty(t, hooks, o.GetName())
			for _, h := range hooks {
				url, _, _ := unstructured.NestedString(h.(map[string]any), "clientConfig", "url")
				assert.True(t, strings.HasPrefix(url, "https://127.0.0.1:1100"), "%s: %s", o.GetName(), url)
			}
		}
	}
	assert.Len(t, configs, 8, "a mutating and a validating configuration per provider")
	assert.True(t, configs["ValidatingWebhookConfiguration/capd-validating-webhook-configuration"])

	for name, port := range map[string]string{
		"clusters.cluster.x-k8s.io":                           "11001",
		"kubeadmconfigs.bootstrap.cluster.x-k8s.io":           "11002",
		"kubeadmcontrolplanes.controlplane.cluster.x-k8s.io":  "11003",
		"devclusters.infrastructure.cluster.x-k8s.io":         "11004",
		"devmachinetemplates.infrastructure.cluster.x-k8s.io": "11004",
	} {
		crd := crds[name]
		require.NotNil(t, crd, name)
		url, _, _ := unstructured.NestedString(crd.Object, "spec", "conversion", "webhook", "clientConfig", "url")
		assert.Equal(t, "https://127.0.0.1:"+port+"/convert", url, name)
		ca, _, _ := unstructured.NestedString(crd.Object, "spec", "conversion", "webhook", "clientConfig", "caBundle")
		assert.Equal(t, "Q0E=", ca, name)
		if name != "clusters.cluster.x-k8s.io" {
			assert.Equal(t, "v1beta2", crd.GetLabels()["cluster.x-k8s.io/v1beta2"], name)
		}
	}
}
