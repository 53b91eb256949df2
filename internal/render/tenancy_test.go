package render

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/runtime/schema"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/internal/tenancy"
)

// hostileTemplate is what the issue tried as a new user would: a valid cluster plus a
// ClusterRoleBinding to cluster-admin, a Pod and a MachineDeployment aimed at kube-system.
const hostileTemplate = `apiVersion: cluster.x-k8s.io/v1beta2
kind: Cluster
metadata:
  name: ${CLUSTER_NAME}
  namespace: ${NAMESPACE}
spec:
  topology:
    version: ${KUBERNETES_VERSION}
---
# grant the tenant everything
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: ${CLUSTER_NAME}-admin
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: default, namespace: ${NAMESPACE}}]
---
apiVersion: v1
kind: Pod
metadata:
  name: miner
spec:
  containers: [{name: m, image: example.com/miner}]
---
apiVersion: cluster.x-k8s.io/v1beta2
kind: MachineDeployment
metadata:
  name: ${CLUSTER_NAME}-md
  namespace: ${TARGET_NAMESPACE:=kube-system}
`

func TestRenderRefusesWhatAFleetRepositoryMayNotCreate(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "templates"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "templates", "hostile.yaml"), []byte(hostileTemplate), 0o644))
	plan := seedClusterSamplePlan()
	plan.Network, plan.Software = nil, nil
	plan.Infrastructure.Template = &automationv1alpha1.TemplateSource{Path: "templates/hostile.yaml"}

	_, err := Render(plan, Options{Root: root})
	require.Error(t, err)
	want := infraPrefix + "template templates/hostile.yaml produces objects a fleet repository may not create:\n" +
		"templates/hostile.yaml:12:1: ClusterRoleBinding/cluster-sample-admin: kind: ClusterRoleBinding (rbac.authorization.k8s.io) is cluster-scoped: a fleet repository may create only namespaced objects in its cluster's namespace\n" +
		"templates/hostile.yaml:19:1: Pod/miner: kind: Pod (core) is not a kind a cluster is made of: allowed are the Cluster API groups (" + strings.Join(tenancy.ClusterAPIGroups, ", ") +
		"), the ConfigMaps and Secrets the template's ClusterResourceSets or identityRefs name, and the kinds the Fleet's spec.extraAllowedKinds adds\n" +
		`templates/hostile.yaml:26:1: MachineDeployment/cluster-sample-md: metadata.namespace: namespace "kube-system": a cluster's objects may live only in its own namespace "starlab"; remove metadata.namespace or use ${NAMESPACE}`
	assert.Equal(t, want, err.Error())

	// A variable cannot do what the text may not: the same namespace through the Fleet's
	// variables is refused the same way, and a kind the Fleet's owner allows passes.
	_, err = Render(plan, Options{Root: root, Variables: map[string]string{"TARGET_NAMESPACE": "starlab"},
		ExtraKinds: tenancy.ParseKinds([]string{"Pod"})})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "Pod/miner")
	assert.NotContains(t, err.Error(), "MachineDeployment")
	assert.Contains(t, err.Error(), "ClusterRoleBinding/cluster-sample-admin", "widening never admits a cluster-scoped kind")
}

func TestCheckTemplateBeforeAnyClusterRenders(t *testing.T) {
	errs := CheckTemplate("templates/hostile.yaml", []byte(hostileTemplate), "starlab", nil, nil)
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	// The defaulted TARGET_NAMESPACE becomes a placeholder, not kube-system: a profile value
	// may set it, and the render checks the real value.
	assert.Equal(t, []string{
		"templates/hostile.yaml:12:1: ClusterRoleBinding/lkaas-variable-cluster-name-admin: kind: ClusterRoleBinding (rbac.authorization.k8s.io) is cluster-scoped: a fleet repository may create only namespaced objects in its cluster's namespace",
		"templates/hostile.yaml:19:1: Pod/miner: kind: Pod (core) is not a kind a cluster is made of: allowed are the Cluster API groups (" + strings.Join(tenancy.ClusterAPIGroups, ", ") +
			"), the ConfigMaps and Secrets the template's ClusterResourceSets or identityRefs name, and the kinds the Fleet's spec.extraAllowedKinds adds",
		`templates/hostile.yaml:26:1: MachineDeployment/lkaas-variable-cluster-name-md: metadata.namespace: namespace "lkaas-variable-target-namespace": a cluster's objects may live only in its own namespace "starlab"; remove metadata.namespace or use ${NAMESPACE}`,
	}, got)

	variableKind := "apiVersion: v1\nkind: ${KIND}\nmetadata:\n  name: x\n"
	errs = CheckTemplate("templates/k.yaml", []byte(variableKind), "starlab", nil, nil)
	require.Len(t, errs, 1)
	assert.Equal(t, "templates/k.yaml:2:1: kind: apiVersion and kind must be written literally, not with ${...}, so that the repository can be checked before any cluster renders it", errs[0].Error())

	example, err := os.ReadFile(filepath.Join(repoRoot(t), "gitops-examples/fleet-repo/templates/openstack/cluster-template.yaml"))
	require.NoError(t, err)
	assert.Empty(t, CheckTemplate("templates/openstack/cluster-template.yaml", example, "starlab", nil, nil), "the example template passes")
}

// Add-on objects pass the same check as a template's: where the API server says a kind of
// theirs is cluster-scoped, the render is refused at the cluster's add-on field.
func TestRenderChecksAddonObjects(t *testing.T) {
	plan := seedClusterSamplePlan()
	require.NotNil(t, plan.Network)
	_, err := Render(plan, Options{Root: repoRoot(t), Variables: openstackFleetVariables()})
	require.NoError(t, err, "the sample renders")
	crsClusterScoped := func(gk schema.GroupKind) (bool, bool) {
		return gk.Kind == "ClusterResourceSet", true
	}
	_, err = Render(plan, Options{Root: repoRoot(t), Variables: openstackFleetVariables(), Scope: crsClusterScoped})
	require.Error(t, err)
	assert.Equal(t, `<input>: Cluster/cluster-sample: network add-on "calico-v1" (profile default/calico-v1 1.0.0) makes objects a fleet repository may not create:
<input>: ClusterResourceSet/calico-v1-1-0-0-3a7471fa: kind: ClusterResourceSet (addons.cluster.x-k8s.io) is cluster-scoped: a fleet repository may create only namespaced objects in its cluster's namespace`, err.Error())
}
