package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fluxcd/pkg/gittestserver"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/internal/apply"
	"github.com/dcn-ssu/lkaas/internal/testenv"
)

// The status documents of the seed, as the status writer commits them.
const seedStatus = "../../internal/gitstatus/testdata/golden/seed"

func TestStatusFromACheckout(t *testing.T) {
	code, out, errOut := execute(t, "status", "--dir", seedStatus)
	require.Equal(t, 0, code, errOut)
	golden(t, "status-seed.txt", out)

	code, out, _ = execute(t, "status", "--dir", seedStatus, "other-fleet")
	assert.Equal(t, exitFailure, code, "no such Fleet")
	assert.Empty(t, out)

	code, _, _ = execute(t, "status", "--dir", seedStatus, "--path", "../outside")
	assert.Equal(t, exitUsage, code)
}

func TestStatusFromTheStatusBranch(t *testing.T) {
	srv, err := gittestserver.NewTempGitServer()
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(srv.Root()) })
	require.NoError(t, srv.InitRepo(seedStatus, "lkaas/status", "org/fleet.git"))
	require.NoError(t, srv.StartHTTP())
	t.Cleanup(srv.StopHTTP)

	code, out, errOut := execute(t, "status", "--git", srv.HTTPAddress()+"/org/fleet.git")
	require.Equal(t, 0, code, errOut)
	golden(t, "status-seed.txt", out)
}

// From the management cluster: the same tree, built from the live objects.
func TestStatusFromTheCluster(t *testing.T) {
	env, err := testenv.Start()
	require.NoError(t, err)
	t.Cleanup(func() { _ = env.Stop() })
	kubeconfig, err := env.Kubeconfig()
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, os.WriteFile(path, kubeconfig, 0o600))

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ns := "starlab"
	require.NoError(t, env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	fleet := &automationv1alpha1.Fleet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "starlab"},
		Spec: automationv1alpha1.FleetSpec{SourceRef: automationv1alpha1.SourceReference{Kind: "GitRepository", Name: "fleet"},
			Interval: metav1.Duration{Duration: time.Hour}}}
	require.NoError(t, env.Client.Create(ctx, fleet))
	cluster := &automationv1alpha1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "cluster-sample",
		Labels: map[string]string{apply.FleetNameLabel: "starlab", apply.FleetNamespaceLabel: ns}},
		Spec: automationv1alpha1.ClusterSpec{ClusterCatalog: "edge"}}
	require.NoError(t, env.Client.Create(ctx, cluster))
	cluster.Status.Phase = automationv1alpha1.ClusterPhaseReady
	cluster.Status.ControlPlaneVersion, cluster.Status.WorkersVersion = "v1.25.0", "v1.25.0"
	require.NoError(t, env.Client.Status().Update(ctx, cluster))

	code, out, errOut := execute(t, "status", "--kubeconfig", path, "-A")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "Fleet starlab/starlab  —  —\n└─ Cluster cluster-sample  Ready  v1.25.0  —\n", out)
}
