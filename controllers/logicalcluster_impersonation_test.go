package controllers_test

import (
	"context"
	"testing"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
	"github.com/dcn-ssu/lkaas/controllers"
	"github.com/dcn-ssu/lkaas/internal/scheme"
	"github.com/dcn-ssu/lkaas/internal/testenv"
)

// In the lockdown the LogicalCluster controller writes its members as the tenant's
// ServiceAccount. The controller here runs as a ServiceAccount of its own (a real token) that
// may read the L-KaaS kinds, write LogicalCluster status and events, and impersonate: it could
// not create a Cluster itself, so members that appear were written as the tenant. A tenant
// lacking a verb gets RBACForbidden naming it, and nothing of the pass is written.
func TestLogicalClusterWritesMembersAsTheTenant(t *testing.T) {
	ctx := context.Background()
	e, err := testenv.Start()
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Stop() })
	startLockedDownLogicalClusters(t, e, "tenant")

	t.Run("a tenant allowed to write clusters gets its members", func(t *testing.T) {
		ns := e.Namespace(t)
		tenantRole(t, e, ns, "tenant", rbacv1.PolicyRule{APIGroups: []string{automationv1alpha1.GroupVersion.Group},
			Resources: []string{"clusters"}, Verbs: []string{"create", "patch"}})
		lc := mecCluster(ns, intstr.FromInt32(1), 0)
		require.NoError(t, e.Client.Create(ctx, lc))
		require.Eventually(t, func() bool { return len(memberNames(t, e, ns)) == 4 }, defaultWait, tick, "the members were never written")

		// Removing a member needs delete, which the Role lacks: the pass that would also
		// relabel another member writes nothing at all.
		cur := lcState(t, e, lc)
		p := client.MergeFrom(cur.DeepCopy())
		cur.Spec.Clusters = cur.Spec.Clusters[:3]
		cur.Spec.Clusters[0].Labels["tier"] = "core"
		require.NoError(t, e.Client.Patch(ctx, cur, p))
		got := waitLogicalCluster(t, e, lc, "reported RBACForbidden", func(got *intentv1.LogicalCluster) bool {
			return conditions.GetReason(got, meta.ReadyCondition) == controllers.ReasonRBACForbidden
		})
		assert.Equal(t, "RBAC: ServiceAccount "+ns+"/tenant may not delete clusters.automation.dcn.ssu.ac.kr in namespace "+ns+
			"; grant it in a Role bound to the ServiceAccount (see docs/operations.md#multi-tenancy)", conditions.GetMessage(got, meta.ReadyCondition))
		assert.Len(t, memberNames(t, e, ns), 4, "the former member is still there")
		assert.NotContains(t, memberCluster(t, e, ns, "central-cluster").Labels, "tier", "nothing half-applied")

		// Granted, the same pass goes through.
		role := &rbacv1.Role{}
		require.NoError(t, e.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "tenant"}, role))
		role.Rules[0].Verbs = append(role.Rules[0].Verbs, "delete")
		require.NoError(t, e.Client.Update(ctx, role))
		require.Eventually(t, func() bool {
			return len(memberNames(t, e, ns)) == 3 && memberCluster(t, e, ns, "central-cluster").Labels["tier"] == "core"
		}, defaultWait, tick, "the pass was never applied once allowed")
	})

	t.Run("a tenant not allowed to write clusters gets none", func(t *testing.T) {
		ns := e.Namespace(t)
		tenantRole(t, e, ns, "tenant", rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"create", "patch", "delete"}})
		lc := mecCluster(ns, intstr.FromInt32(1), 0)
		require.NoError(t, e.Client.Create(ctx, lc))
		got := waitLogicalCluster(t, e, lc, "reported RBACForbidden", func(got *intentv1.LogicalCluster) bool {
			return conditions.GetReason(got, meta.ReadyCondition) == controllers.ReasonRBACForbidden
		})
		assert.Equal(t, "RBAC: ServiceAccount "+ns+"/tenant may not create clusters.automation.dcn.ssu.ac.kr in namespace "+ns+
			"; grant it in a Role bound to the ServiceAccount (see docs/operations.md#multi-tenancy)", conditions.GetMessage(got, meta.ReadyCondition))
		assert.Empty(t, memberNames(t, e, ns))
	})
}

// startLockedDownLogicalClusters runs the LogicalCluster controller as a ServiceAccount that
// can read, write LogicalCluster status and events, and impersonate ServiceAccounts, with
// --default-service-account=defaultServiceAccount.
func startLockedDownLogicalClusters(t *testing.T, e *testenv.Env, defaultServiceAccount string) {
	t.Helper()
	ctx := context.Background()
	ns := e.Namespace(t)
	require.NoError(t, e.Client.Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "lkaas-locked-down"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{automationv1alpha1.GroupVersion.Group}, Resources: []string{"clusters", "fleets"}, Verbs: []string{"get", "list", "watch"}},
			{APIGroups: []string{intentv1.GroupVersion.Group}, Resources: []string{"logicalclusters"}, Verbs: []string{"get", "list", "watch"}},
			{APIGroups: []string{intentv1.GroupVersion.Group}, Resources: []string{"logicalclusters/status"}, Verbs: []string{"patch", "update"}},
			{APIGroups: []string{"", "events.k8s.io"}, Resources: []string{"events"}, Verbs: []string{"create", "patch"}},
			{APIGroups: []string{""}, Resources: []string{"serviceaccounts"}, Verbs: []string{"impersonate"}},
		},
	}))
	require.NoError(t, e.Client.Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "lkaas-locked-down"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "lkaas-locked-down"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: "lkaas"}},
	}))
	cfg := serviceAccountConfig(t, e, ns, "lkaas")

	skip := true
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme.New(),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Controller:             config.Controller{SkipNameValidation: &skip},
	})
	require.NoError(t, err)
	r := &controllers.LogicalClusterReconciler{Client: mgr.GetClient(), Cache: mgr.GetCache(), Events: mgr.GetEventRecorder("lkaas"),
		Impersonator:          controllers.NewImpersonator(cfg, client.Options{Scheme: mgr.GetScheme(), Mapper: mgr.GetRESTMapper()}),
		DefaultServiceAccount: defaultServiceAccount}
	require.NoError(t, r.SetupWithManager(mgr))
	mgrCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mgrCtx) }()
	t.Cleanup(func() { cancel(); <-done })
}

// serviceAccountConfig is a rest.Config that authenticates as the ServiceAccount ns/name with
// a token the API server issued, as a pod's would: impersonation from it is checked against
// the ServiceAccount's own RBAC.
func serviceAccountConfig(t *testing.T, e *testenv.Env, ns, name string) *rest.Config {
	t.Helper()
	ctx := context.Background()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	require.NoError(t, e.Client.Create(ctx, sa))
	req := &authenticationv1.TokenRequest{}
	require.NoError(t, e.Client.SubResource("token").Create(ctx, sa, req))
	require.NotEmpty(t, req.Status.Token)
	return &rest.Config{Host: e.Config.Host, TLSClientConfig: rest.TLSClientConfig{CAData: e.Config.CAData}, BearerToken: req.Status.Token,
		QPS: e.Config.QPS, Burst: e.Config.Burst}
}

// tenantRole creates the ServiceAccount ns/name and a Role with rules, bound to it.
func tenantRole(t *testing.T, e *testenv.Env, ns, name string, rules ...rbacv1.PolicyRule) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, e.Client.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}))
	require.NoError(t, e.Client.Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Rules: rules}))
	require.NoError(t, e.Client.Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: name}},
	}))
}
