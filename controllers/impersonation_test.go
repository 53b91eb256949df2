package controllers_test

import (
	"context"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/controllers"
)

// tenantAccount creates a ServiceAccount with a Role, in its namespace only, allowing the
// writes a Fleet makes on the listed resources of the L-KaaS group (plus the repository-files
// ConfigMap), and binds them.
func tenantAccount(t *testing.T, ns, name string, lkaasResources ...string) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, env.Client.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}))
	verbs := []string{"create", "patch", "delete"} // exactly what a Fleet writes with: server-side apply and prune
	require.NoError(t, env.Client.Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{automationv1alpha1.GroupVersion.Group}, Resources: lkaasResources, Verbs: verbs},
			{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: verbs},
		},
	}))
	require.NoError(t, env.Client.Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: name}},
	}))
}

// A Fleet with spec.serviceAccountName writes as that ServiceAccount: with RBAC for its kinds
// in its namespace it applies its clusters; lacking one kind, it reports RBACForbidden naming
// the verb and resource, and creates nothing at all.
func TestFleetWritesAsItsServiceAccount(t *testing.T) {
	files := fleetFiles("v1.30.1", "seoul", "busan")
	files["templates/cluster-template.yaml"] = clusterTemplate

	t.Run("the example tenant Role of gitops-examples/management", func(t *testing.T) {
		ns := env.Namespace(t)
		tenantAccount(t, ns, "tenant", "infrastructureprofiles", "clustercatalogs", "clusters")
		// Replace the Role's rules by the example's, which the docs tell operators to copy.
		role := &rbacv1.Role{}
		require.NoError(t, env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "tenant"}, role))
		role.Rules = exampleTenantRules(t)
		require.NoError(t, env.Client.Update(context.Background(), role))
		r := newRepo(t, ns, "tenant-repo")
		f := newFleet(t, r, func(f *automationv1alpha1.Fleet) { f.Spec.ServiceAccountName = "tenant" })
		waitApplied(t, f, r.push(t, files))
		assert.Equal(t, []string{"busan", "seoul"}, namesOf(t, ns))
		// The Cluster controller writes their Cluster API objects as the same account.
		require.Eventually(t, func() bool {
			return env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "seoul"}, capiCluster()) == nil
		}, defaultWait, tick, "the CAPI Cluster was never written")
	})

	t.Run("a cluster's deletion goes as its account too", func(t *testing.T) {
		ctx := context.Background()
		ns := env.Namespace(t)
		tenantAccount(t, ns, "tenant", "infrastructureprofiles", "clustercatalogs", "clusters")
		// The example Role without delete on Cluster API Clusters.
		role := &rbacv1.Role{}
		require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "tenant"}, role))
		role.Rules = exampleTenantRules(t)
		for i := range role.Rules {
			if slices.Contains(role.Rules[i].APIGroups, "cluster.x-k8s.io") {
				role.Rules[i].Verbs = []string{"create", "patch"}
			}
		}
		require.NoError(t, env.Client.Update(ctx, role))
		r := newRepo(t, ns, "tenant-repo")
		f := newFleet(t, r, func(f *automationv1alpha1.Fleet) { f.Spec.ServiceAccountName = "tenant" })
		waitApplied(t, f, r.push(t, files))
		require.Eventually(t, func() bool {
			return env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "seoul"}, capiCluster()) == nil
		}, defaultWait, tick, "the CAPI Cluster was never written")

		// Git drops seoul: the Fleet prunes it, and its finalizer may not delete the CAPI
		// Cluster as the tenant.
		waitApplied(t, f, r.push(t, withFile(fleetFiles("v1.30.1", "busan"), "templates/cluster-template.yaml", clusterTemplate)))
		cluster := &automationv1alpha1.Cluster{}
		require.Eventually(t, func() bool {
			return env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "seoul"}, cluster) == nil &&
				conditions.GetReason(cluster, meta.ReadyCondition) == "RBACForbidden"
		}, defaultWait, tick, "the deleting Cluster never reported RBACForbidden")
		assert.Equal(t, "deleting the cluster: RBAC: ServiceAccount "+ns+"/tenant may not delete clusters.cluster.x-k8s.io in namespace "+ns+
			"; grant it in a Role bound to the ServiceAccount (see docs/operations.md#multi-tenancy)", conditions.GetMessage(cluster, meta.ReadyCondition))
		require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "seoul"}, capiCluster()), "the CAPI Cluster stays")

		// Granted, the deletion finishes: the CAPI Cluster, the rest, then the Cluster itself.
		require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "tenant"}, role))
		role.Rules = exampleTenantRules(t)
		require.NoError(t, env.Client.Update(ctx, role))
		require.Eventually(t, func() bool {
			return apierrors.IsNotFound(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "seoul"}, &automationv1alpha1.Cluster{}))
		}, defaultWait, tick, "the Cluster was never deleted once allowed")
		assert.True(t, apierrors.IsNotFound(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "seoul"}, capiCluster())))
	})

	t.Run("a render dropping an object the account may not delete writes nothing", func(t *testing.T) {
		ctx := context.Background()
		ns := env.Namespace(t)
		tenantAccount(t, ns, "tenant", "infrastructureprofiles", "clustercatalogs", "clusters")
		role := &rbacv1.Role{}
		require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "tenant"}, role))
		role.Rules = exampleTenantRules(t)
		for i := range role.Rules {
			if slices.Contains(role.Rules[i].APIGroups, "bootstrap.cluster.x-k8s.io") {
				role.Rules[i].Verbs = []string{"create", "patch"}
			}
		}
		require.NoError(t, env.Client.Update(ctx, role))
		r := newRepo(t, ns, "tenant-repo")
		f := newFleet(t, r, func(f *automationv1alpha1.Fleet) { f.Spec.ServiceAccountName = "tenant" })
		withConfig := clusterTemplate + "---\napiVersion: bootstrap.cluster.x-k8s.io/v1beta2\nkind: KubeadmConfigTemplate\nmetadata:\n  name: ${CLUSTER_NAME}-workers\nspec:\n  template:\n    spec:\n      format: cloud-config\n"
		waitApplied(t, f, r.push(t, withFile(fleetFiles("v1.30.1", "seoul"), "templates/cluster-template.yaml", withConfig)))
		configs := func() int {
			var list unstructured.UnstructuredList
			list.SetAPIVersion("bootstrap.cluster.x-k8s.io/v1beta2")
			list.SetKind("KubeadmConfigTemplateList")
			require.NoError(t, env.Client.List(ctx, &list, client.InNamespace(ns)))
			return len(list.Items)
		}
		if !assert.Eventually(t, func() bool { return configs() == 1 }, defaultWait, tick) {
			c := &automationv1alpha1.Cluster{}
			_ = env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "seoul"}, c)
			t.Fatalf("the KubeadmConfigTemplate was never written; the Cluster: %s", conditions.GetMessage(c, meta.ReadyCondition))
		}

		// The next render drops it and changes the CAPI Cluster: refused as a whole.
		changed := strings.Replace(clusterTemplate, "cluster.local", "example.local", 1)
		waitApplied(t, f, r.push(t, withFile(fleetFiles("v1.30.1", "seoul"), "templates/cluster-template.yaml", changed)))
		cluster := &automationv1alpha1.Cluster{}
		require.Eventually(t, func() bool {
			return env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "seoul"}, cluster) == nil &&
				conditions.GetReason(cluster, meta.ReadyCondition) == "RBACForbidden"
		}, defaultWait, tick, "the Cluster never reported RBACForbidden")
		assert.Equal(t, "RBAC: ServiceAccount "+ns+"/tenant may not delete kubeadmconfigtemplates.bootstrap.cluster.x-k8s.io in namespace "+ns+
			"; grant it in a Role bound to the ServiceAccount (see docs/operations.md#multi-tenancy)", conditions.GetMessage(cluster, meta.ReadyCondition))
		capi := capiCluster()
		require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "seoul"}, capi))
		domain, _, _ := unstructured.NestedString(capi.Object, "spec", "clusterNetwork", "serviceDomain")
		assert.Equal(t, "cluster.local", domain, "nothing half-applied")
		assert.Equal(t, 1, configs())
	})

	t.Run("RBAC for the L-KaaS kinds but not Cluster API", func(t *testing.T) {
		ns := env.Namespace(t)
		tenantAccount(t, ns, "tenant", "infrastructureprofiles", "clustercatalogs", "clusters")
		r := newRepo(t, ns, "tenant-repo")
		f := newFleet(t, r, func(f *automationv1alpha1.Fleet) { f.Spec.ServiceAccountName = "tenant" })
		waitApplied(t, f, r.push(t, files))
		cluster := &automationv1alpha1.Cluster{}
		var ready *metav1.Condition
		require.Eventually(t, func() bool {
			if env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "seoul"}, cluster) != nil {
				return false
			}
			ready = conditions.Get(cluster, meta.ReadyCondition)
			return ready != nil && ready.Reason == "RBACForbidden"
		}, defaultWait, tick, "the Cluster never reported RBACForbidden")
		assert.Equal(t, "RBAC: ServiceAccount "+ns+"/tenant may not create clusters.cluster.x-k8s.io in namespace "+ns+
			"; grant it in a Role bound to the ServiceAccount (see docs/operations.md#multi-tenancy)", ready.Message)
		assert.True(t, apierrors.IsNotFound(env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "seoul"}, capiCluster())),
			"no Cluster API object written")
	})

	t.Run("RBAC lacking clusters", func(t *testing.T) {
		ns := env.Namespace(t)
		tenantAccount(t, ns, "tenant", "infrastructureprofiles", "clustercatalogs")
		r := newRepo(t, ns, "tenant-repo")
		f := newFleet(t, r, func(f *automationv1alpha1.Fleet) { f.Spec.ServiceAccountName = "tenant" })
		rev := r.push(t, files)
		got := waitNotReady(t, f, rev, "RBACForbidden")
		assert.Equal(t, "RBAC: ServiceAccount "+ns+"/tenant may not create clusters.automation.dcn.ssu.ac.kr in namespace "+ns+
			"; grant it in a Role bound to the ServiceAccount (see docs/operations.md#multi-tenancy)", readyMessage(got))
		assert.Empty(t, namesOf(t, ns), "no cluster created")
		var profiles automationv1alpha1.InfrastructureProfileList
		require.NoError(t, env.Client.List(context.Background(), &profiles))
		for _, p := range profiles.Items {
			assert.NotEqual(t, ns, p.Namespace, "nothing half-applied: no profile either")
		}
		if got.Status.Inventory != nil {
			assert.Empty(t, got.Status.Inventory.Entries)
		}
	})

	t.Run("a ServiceAccount that does not exist", func(t *testing.T) {
		ns := env.Namespace(t)
		r := newRepo(t, ns, "tenant-repo")
		f := newFleet(t, r, func(f *automationv1alpha1.Fleet) { f.Spec.ServiceAccountName = "nobody" })
		got := waitNotReady(t, f, r.push(t, files), "RBACForbidden")
		assert.Contains(t, readyMessage(got), "ServiceAccount "+ns+"/nobody may not create")
		assert.Empty(t, namesOf(t, ns))
	})
}

// exampleTenantRules are the rules of the starlab tenant Role in the management example.
func exampleTenantRules(t *testing.T) []rbacv1.PolicyRule {
	t.Helper()
	data, err := os.ReadFile("../gitops-examples/management/infrastructure/configs/tenant-rbac.yaml")
	require.NoError(t, err)
	for _, doc := range strings.Split(string(data), "\n---\n") {
		role := &rbacv1.Role{}
		require.NoError(t, yaml.Unmarshal([]byte(doc), role))
		if role.Kind == "Role" && role.Namespace == "starlab" {
			require.NotEmpty(t, role.Rules)
			return role.Rules
		}
	}
	t.Fatal("no Role for starlab in the example")
	return nil
}

func capiCluster() *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("cluster.x-k8s.io/v1beta2")
	u.SetKind("Cluster")
	return u
}

// A steady state asks the API server nothing: an allowed write is remembered, so the second
// check of the same writes makes no SelfSubjectAccessReview. A refusal is not remembered: once
// the Role grants the kind, the next check passes.
func TestImpersonatorRemembersAllowedWritesOnly(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t)
	tenantAccount(t, ns, "tenant", "clusters")
	// Count only this Impersonator's reviews: the suite's controllers make their own on the
	// same API server at any moment.
	var made atomic.Int64
	cfg := rest.CopyConfig(env.Config)
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if strings.HasSuffix(r.URL.Path, "/selfsubjectaccessreviews") {
				made.Add(1)
			}
			return rt.RoundTrip(r)
		})
	}
	imp := controllers.NewImpersonator(cfg, client.Options{Scheme: env.Scheme, Mapper: env.Client.RESTMapper()})
	cluster := &automationv1alpha1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "c"}}
	reviews := func() int64 { return made.Load() }

	require.NoError(t, imp.CheckWrites(ctx, ns, "tenant", []client.Object{cluster}, true))
	before := reviews()
	require.Positive(t, before, "the first check asks the API server")
	require.NoError(t, imp.CheckWrites(ctx, ns, "tenant", []client.Object{cluster}, true))
	assert.Equal(t, before, reviews(), "the second check of the same writes asks nothing")

	profile := &automationv1alpha1.InfrastructureProfile{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "p"}}
	err := imp.CheckWrites(ctx, ns, "tenant", []client.Object{profile}, false)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "may not create infrastructureprofiles.automation.dcn.ssu.ac.kr")
	role := &rbacv1.Role{}
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "tenant"}, role))
	role.Rules[0].Resources = append(role.Rules[0].Resources, "infrastructureprofiles")
	require.NoError(t, env.Client.Update(ctx, role))
	assert.Eventually(t, func() bool {
		return imp.CheckWrites(ctx, ns, "tenant", []client.Object{profile}, false) == nil
	}, defaultWait, tick, "the granted kind is allowed at once (RBAC's own cache aside)")
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// withFile is files with one more file.
func withFile(files map[string]string, name, content string) map[string]string {
	out := maps.Clone(files)
	out[name] = content
	return out
}
