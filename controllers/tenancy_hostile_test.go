package controllers_test

import (
	"context"
	"strings"
	"testing"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/internal/repofiles"
)

// clusterTemplate is a minimal valid template; hostile cases add documents to it.
const clusterTemplate = `apiVersion: cluster.x-k8s.io/v1beta2
kind: Cluster
metadata:
  name: ${CLUSTER_NAME}
spec:
  clusterNetwork:
    serviceDomain: cluster.local
`

// hostileKinds are the kinds a hostile case tries to create; every object a case writes is
// named "hostile-…", so counting them tells whether anything slipped through.
var hostileKinds = []schema.GroupVersionKind{
	{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRoleBinding"},
	{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "RoleBinding"},
	{Version: "v1", Kind: "Pod"},
	{Version: "v1", Kind: "Secret"},
	{Version: "v1", Kind: "ConfigMap"},
	{Group: "cluster.x-k8s.io", Version: "v1beta2", Kind: "MachineDeployment"},
	{Group: "addons.cluster.x-k8s.io", Version: "v1beta2", Kind: "ClusterResourceSet"},
	{Group: "automation.dcn.ssu.ac.kr", Version: "v1alpha1", Kind: "Cluster"},
	{Group: "automation.dcn.ssu.ac.kr", Version: "v1alpha1", Kind: "Fleet"},
}

// hostileObjects counts the objects named hostile-… in every namespace (and cluster-wide).
func hostileObjects(t *testing.T) int {
	t.Helper()
	n := 0
	for _, gvk := range hostileKinds {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		require.NoError(t, env.Client.List(context.Background(), list))
		for _, o := range list.Items {
			if strings.HasPrefix(o.GetName(), "hostile-") {
				t.Logf("created: %s %s/%s", gvk.Kind, o.GetNamespace(), o.GetName())
				n++
			}
		}
	}
	return n
}

// A tenant's repository can only make its own clusters: each hostile commit is refused whole
// with a message naming the place, the kind and the rule, and nothing is created anywhere.
func TestFleetRefusesHostileRepositories(t *testing.T) {
	ns := env.Namespace(t)
	other := env.Namespace(t)
	r := newRepo(t, ns, "tenant-repo")
	files := fleetFiles("v1.30.1", "seoul")
	files["templates/cluster-template.yaml"] = clusterTemplate
	good := r.push(t, files)
	f := newFleet(t, r)
	waitApplied(t, f, good)

	withTemplate := func(extra string) func(*testing.T) string {
		return func(t *testing.T) string {
			files := fleetFiles("v1.31.0", "seoul", "hostile-busan")
			files["templates/cluster-template.yaml"] = clusterTemplate + "---\n" + extra
			return r.push(t, files)
		}
	}
	cases := []struct {
		name    string
		publish func(t *testing.T) string
		want    string
	}{{
		name: "a ClusterRoleBinding to cluster-admin",
		publish: withTemplate("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: hostile-admin\n" +
			"roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\nsubjects:\n- kind: ServiceAccount\n  name: default\n  namespace: ${NAMESPACE}\n"),
		want: "templates/cluster-template.yaml:10:1: ClusterRoleBinding/hostile-admin: kind: ClusterRoleBinding (rbac.authorization.k8s.io) is cluster-scoped",
	}, {
		name:    "a RoleBinding in the tenant's own namespace",
		publish: withTemplate("apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: hostile-rb\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: admin}\n"),
		want:    "templates/cluster-template.yaml:10:1: RoleBinding/hostile-rb: kind: RoleBinding (rbac.authorization.k8s.io) is not a kind a cluster is made of",
	}, {
		name:    "a Pod",
		publish: withTemplate("apiVersion: v1\nkind: Pod\nmetadata:\n  name: hostile-miner\nspec:\n  containers: [{name: m, image: example.com/miner}]\n"),
		want:    "templates/cluster-template.yaml:10:1: Pod/hostile-miner: kind: Pod (core) is not a kind a cluster is made of",
	}, {
		name:    "a Cluster API object aimed at kube-system",
		publish: withTemplate("apiVersion: cluster.x-k8s.io/v1beta2\nkind: MachineDeployment\nmetadata:\n  name: hostile-md\n  namespace: kube-system\n"),
		want:    `templates/cluster-template.yaml:10:1: MachineDeployment/hostile-md: metadata.namespace: namespace "kube-system": a cluster's objects may live only in its own namespace "` + ns + `"`,
	}, {
		name: "a ClusterResourceSet and its Secret aimed at another tenant",
		publish: withTemplate("apiVersion: addons.cluster.x-k8s.io/v1beta2\nkind: ClusterResourceSet\nmetadata:\n  name: hostile-crs\n  namespace: " + other +
			"\nspec:\n  clusterSelector: {}\n  resources: [{kind: Secret, name: hostile-creds}]\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: hostile-creds\n  namespace: " + other + "\n"),
		want: `templates/cluster-template.yaml:10:1: ClusterResourceSet/hostile-crs: metadata.namespace: namespace "` + other + `"`,
	}, {
		name:    "a Secret no ClusterResourceSet names",
		publish: withTemplate("apiVersion: v1\nkind: Secret\nmetadata:\n  name: hostile-loose\nstringData: {a: b}\n"),
		want:    "templates/cluster-template.yaml:10:1: Secret/hostile-loose: kind: a Secret may be created only when the same template gives it a use",
	}, {
		name:    "a kind hidden in a variable",
		publish: withTemplate("apiVersion: v1\nkind: ${HOSTILE_KIND:=Pod}\nmetadata:\n  name: hostile-var\n"),
		want:    "templates/cluster-template.yaml:10:1: kind: apiVersion and kind must be written literally",
	}, {
		name: "a Fleet with variablesFrom, in the repository",
		publish: func(t *testing.T) string {
			files := fleetFiles("v1.31.0", "seoul")
			files["templates/cluster-template.yaml"] = clusterTemplate
			files["fleets/hostile.yaml"] = "apiVersion: automation.dcn.ssu.ac.kr/v1alpha1\nkind: Fleet\nmetadata:\n  name: hostile-fleet\nspec:\n  sourceRef: {kind: GitRepository, name: tenant-repo}\n  interval: 1m\n  variablesFrom: [{kind: Secret, name: creds}]\n"
			return r.push(t, files)
		},
		want: "fleets/hostile.yaml:",
	}, {
		name: "a cluster in another tenant's namespace",
		publish: func(t *testing.T) string {
			files := fleetFiles("v1.31.0", "seoul")
			files["templates/cluster-template.yaml"] = clusterTemplate
			files["clusters/hostile.yaml"] = "apiVersion: automation.dcn.ssu.ac.kr/v1alpha1\nkind: Cluster\nmetadata:\n  name: hostile-cluster\n  namespace: " + other + "\nspec:\n  clusterCatalog: small\n"
			return r.push(t, files)
		},
		want: "clusters/hostile.yaml:",
	}, {
		name: "a template path that leaves the repository",
		publish: func(t *testing.T) string {
			files := fleetFiles("v1.31.0", "seoul", "hostile-busan")
			files["profiles/small.yaml"] = strings.Replace(files["profiles/small.yaml"], "path: templates/cluster-template.yaml", "path: ../../etc/passwd", 1)
			return r.push(t, files)
		},
		want: "../../etc/passwd",
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rev := tc.publish(t)
			got := waitNotReady(t, f, rev, "ValidationFailed")
			assert.Contains(t, readyMessage(got), tc.want)
			assert.Equal(t, good, got.Status.LastAppliedRevision, "the last good revision stays applied")
			assert.Equal(t, []string{"seoul"}, namesOf(t, ns), "no cluster of the hostile revision was created")
			assert.Zero(t, hostileObjects(t), "objects created by hostile repositories")
		})
	}

	// The Fleet's path cannot leave its directory: the API server refuses it.
	escape := &automationv1alpha1.Fleet{}
	escape.Namespace, escape.Name = ns, "hostile-path"
	escape.Spec = *f.Spec.DeepCopy()
	escape.Spec.Path = "tenants/../../" + other
	err := env.Client.Create(context.Background(), escape)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "path must stay inside the artifact")
	assert.Zero(t, hostileObjects(t), "objects created by hostile repositories")
}

// The platform team, not the repository, widens the kinds: a kind in the Fleet's
// spec.extraAllowedKinds passes the check that refuses it otherwise.
func TestFleetOwnerWidensTheAllowedKinds(t *testing.T) {
	ns := env.Namespace(t)
	r := newRepo(t, ns, "tenant-repo")
	files := fleetFiles("v1.30.1", "seoul")
	files["templates/cluster-template.yaml"] = clusterTemplate + "---\napiVersion: ipam.metal3.io/v1alpha1\nkind: IPPool\nmetadata:\n  name: pool\n"
	rev := r.push(t, files)
	f := newFleet(t, r)
	got := waitNotReady(t, f, rev, "ValidationFailed")
	assert.Contains(t, readyMessage(got), "templates/cluster-template.yaml:10:1: IPPool/pool: kind: IPPool (ipam.metal3.io) is not a kind a cluster is made of")

	require.NoError(t, env.Client.Get(context.Background(), client.ObjectKeyFromObject(f), f))
	f.Spec.ExtraAllowedKinds = []string{"IPPool.ipam.metal3.io"}
	require.NoError(t, env.Client.Update(context.Background(), f))
	waitApplied(t, f, rev)
}

// A template changed after the Fleet validated it (here: the published files edited while the
// Fleet is suspended) does not slip through: the Cluster controller's render refuses it.
func TestClusterRefusesATemplateChangedAfterValidation(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t)
	r := newRepo(t, ns, "tenant-repo")
	files := fleetFiles("v1.30.1", "seoul")
	files["templates/cluster-template.yaml"] = clusterTemplate
	f := newFleet(t, r)
	waitApplied(t, f, r.push(t, files))

	// The Fleet's controllers may write it between the read and the update.
	require.NoError(t, retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(f), f); err != nil {
			return err
		}
		f.Spec.Suspend = true
		return env.Client.Update(ctx, f)
	}))

	var cms corev1.ConfigMapList
	require.NoError(t, env.Client.List(ctx, &cms, client.InNamespace(ns), client.MatchingLabels{repofiles.FilesLabel: "true"}))
	require.Len(t, cms.Items, 1)
	cm := &cms.Items[0]
	edited := false
	for k, v := range cm.Data {
		if v == clusterTemplate {
			cm.Data[k] = clusterTemplate + "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: hostile-late\n"
			edited = true
		}
	}
	require.True(t, edited, "the template is in the published files")
	require.NoError(t, env.Client.Update(ctx, cm))

	// The refusal names the object the edit added. (A first pass that ran before the Cluster
	// controller's cache had the published files fails its render too, for a missing
	// template, and is retried when the files arrive: that is not the refusal asked about.)
	cluster := &automationv1alpha1.Cluster{}
	const refusal = "templates/cluster-template.yaml:10:1: Pod/hostile-late: kind: Pod (core) is not a kind a cluster is made of"
	var msg string
	if !assert.Eventually(t, func() bool {
		if env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "seoul"}, cluster) != nil {
			return false
		}
		c := conditions.Get(cluster, meta.ReadyCondition)
		if c == nil || c.Reason != "RenderFailed" {
			return false
		}
		msg = c.Message
		return strings.Contains(msg, refusal)
	}, defaultWait, tick) {
		t.Fatalf("the cluster never refused the edited template; its last render failure: %q", msg)
	}
	assert.Zero(t, hostileObjects(t), "objects created by hostile repositories")
}
