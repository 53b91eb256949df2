package manager_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/fluxcd/pkg/runtime/logger"
	"github.com/fluxcd/pkg/testserver"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
	"github.com/dcn-ssu/lkaas/internal/apply"
	"github.com/dcn-ssu/lkaas/internal/manager"
)

// The lockdown: a controller started with --default-service-account=tenant writes for a Fleet
// that names no ServiceAccount as "tenant" of the Fleet's namespace. Without RBAC for it the
// Fleet is refused (RBACForbidden) and nothing is created; once the namespace's admin grants
// the Role, the same revision applies.
func TestDefaultServiceAccountLocksFleetsDown(t *testing.T) {
	ctx := context.Background()
	artifacts, err := testserver.NewTempArtifactServer()
	require.NoError(t, err)
	artifacts.Start()
	t.Cleanup(func() { artifacts.Stop(); _ = os.RemoveAll(artifacts.Root()) })

	s := newShardFleet(t, artifacts, "lockdown")
	require.Empty(t, s.fleet.Spec.ServiceAccountName)

	opts := manager.Options{MetricsAddr: "0", HealthAddr: "0", ConcurrentReconciles: 2, ArtifactMaxSize: 1 << 20,
		SharedProfileNamespaces: []string{"default"}, WatchLabelSelector: apply.ShardLabel + "=lockdown",
		SkipNameValidation: true, DefaultServiceAccount: "tenant"}
	opts.Logger = logger.Options{LogEncoding: "console", LogLevel: "error"}
	mgr, err := manager.New(env.Config, opts)
	require.NoError(t, err)
	mctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mctx) }()
	t.Cleanup(func() { cancel(); <-done })

	var f *automationv1alpha1.Fleet
	require.Eventually(t, func() bool {
		f = s.get(t)
		c := conditions.Get(f, meta.ReadyCondition)
		return c != nil && c.Reason == "RBACForbidden"
	}, shardWait, shardTick, "the Fleet never reported RBACForbidden")
	assert.Contains(t, conditions.Get(f, meta.ReadyCondition).Message, "RBAC: ServiceAccount "+s.ns+"/tenant may not create")
	assert.Zero(t, s.clusterCount(t), "nothing created without the tenant's RBAC")

	verbs := []string{"create", "patch", "delete"} // exactly what a Fleet writes with: server-side apply and prune
	require.NoError(t, env.Client.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: "tenant"}}))
	require.NoError(t, env.Client.Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: "tenant"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{automationv1alpha1.GroupVersion.Group}, Resources: []string{"infrastructureprofiles", "clustercatalogs", "clusters"}, Verbs: verbs},
			{APIGroups: []string{intentv1.GroupVersion.Group}, Resources: []string{"logicalclusters"}, Verbs: verbs},
			{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: verbs},
		},
	}))
	require.NoError(t, env.Client.Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: "tenant"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "tenant"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: s.ns, Name: "tenant"}},
	}))
	f = s.get(t)
	if f.Annotations == nil {
		f.Annotations = map[string]string{}
	}
	f.Annotations[meta.ReconcileRequestAnnotation] = time.Now().Format(time.RFC3339Nano)
	require.NoError(t, env.Client.Update(ctx, f))
	s.waitApplied(t, s.revision)
	assert.Equal(t, 1, func() int {
		var list automationv1alpha1.ClusterList
		require.NoError(t, env.Client.List(ctx, &list))
		n := 0
		for _, c := range list.Items {
			if c.Namespace == s.ns && c.Name == "c1" {
				n++
			}
		}
		return n
	}())
}
