package controllers_test

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/fluxcd/pkg/runtime/logger"
	"github.com/fluxcd/pkg/testserver"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/internal/manager"
	"github.com/dcn-ssu/lkaas/internal/plane"
	"github.com/dcn-ssu/lkaas/internal/testenv"
)

var (
	env       *testenv.Env
	artifacts *testserver.ArtifactServer
)

// TestMain starts a real API server with the Flux source CRDs, an artifact server that
// serves tarballs the way source-controller does, and the L-KaaS manager.
func TestMain(m *testing.M) {
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	var err error
	envOpts := []plane.Option{plane.WithFluxSourceCRDs(), plane.WithClusterAPICRDs(), plane.WithCAPDCRDs(), plane.WithHelmAddonCRDs()}
	if path := os.Getenv("LKAAS_AUDIT_LOG"); path != "" {
		envOpts = append(envOpts, plane.WithAuditLog(path))
	}
	env, err = testenv.Start(envOpts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer env.Stop()

	artifacts, err = testserver.NewTempArtifactServer()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	artifacts.Start()
	defer func() { artifacts.Stop(); _ = os.RemoveAll(artifacts.Root()) }()

	opts := manager.Options{MetricsAddr: "0", HealthAddr: "0", ConcurrentReconciles: 4, ArtifactMaxSize: 1 << 20,
		SharedProfileNamespaces: []string{"default"},
		// Existing clusters' API servers cannot be watched; ask them often so a test sees a
		// stop and a return within its wait.
		ExistingProbeInterval: time.Second, ExistingProbeTimeout: 2 * time.Second}
	opts.Logger = logger.Options{LogEncoding: "console", LogLevel: "error"}
	mgr, err := manager.New(env.Config, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	defer func() { cancel(); <-done }()

	return m.Run()
}

// repo is a Flux GitRepository whose artifacts the test publishes by hand.
type repo struct {
	*sourcev1.GitRepository
}

// newRepo creates a GitRepository in ns; nothing is published yet.
func newRepo(t testing.TB, ns, name string) *repo {
	t.Helper()
	gr := &sourcev1.GitRepository{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       sourcev1.GitRepositorySpec{URL: "http://127.0.0.1:1/" + name + ".git", Interval: metav1.Duration{Duration: time.Hour}},
	}
	require.NoError(t, env.Client.Create(context.Background(), gr))
	return &repo{gr}
}

// push publishes files as the repository's next artifact and returns its revision.
func (r *repo) push(t testing.TB, files map[string]string) string {
	t.Helper()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var tf []testserver.File
	h := sha1.New()
	for _, n := range names {
		tf = append(tf, testserver.File{Name: n, Body: files[n]})
		fmt.Fprintf(h, "%s\x00%s\x00", n, files[n])
	}
	name, err := artifacts.ArtifactFromFiles(tf)
	require.NoError(t, err)
	return r.publish(t, name, fmt.Sprintf("main@sha1:%x", h.Sum(nil)), "")
}

// publish sets the repository's artifact; digest "" means the file's true digest.
func (r *repo) publish(t testing.TB, file, revision, digest string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(artifacts.Root(), file))
	require.NoError(t, err)
	if digest == "" {
		digest = fmt.Sprintf("sha256:%x", sha256.Sum256(data))
	}
	url, err := artifacts.URLForFile(file)
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(r.GitRepository), r.GitRepository))
	r.Status.Artifact = &meta.Artifact{Path: file, URL: url, Revision: revision, Digest: digest,
		LastUpdateTime: metav1.Now(), Size: ptr(int64(len(data)))}
	conditions.MarkTrue(r.GitRepository, meta.ReadyCondition, meta.SucceededReason, "stored artifact for revision %s", revision)
	require.NoError(t, env.Client.Status().Update(ctx, r.GitRepository))
	return revision
}

func ptr[T any](v T) *T { return &v }

// newFleet creates a Fleet of the repository in its namespace.
func newFleet(t testing.TB, r *repo, mutate ...func(*automationv1alpha1.Fleet)) *automationv1alpha1.Fleet {
	t.Helper()
	f := &automationv1alpha1.Fleet{
		ObjectMeta: metav1.ObjectMeta{Namespace: r.Namespace, Name: "fleet"},
		Spec: automationv1alpha1.FleetSpec{
			SourceRef: automationv1alpha1.SourceReference{Kind: sourcev1.GitRepositoryKind, Name: r.Name},
			Interval:  metav1.Duration{Duration: time.Hour},
			Prune:     true,
		},
	}
	for _, m := range mutate {
		m(f)
	}
	require.NoError(t, env.Client.Create(context.Background(), f))
	return f
}

// fleetState reads the Fleet back.
func fleetState(t testing.TB, f *automationv1alpha1.Fleet) *automationv1alpha1.Fleet {
	t.Helper()
	got := &automationv1alpha1.Fleet{}
	require.NoError(t, env.Client.Get(context.Background(), client.ObjectKeyFromObject(f), got))
	return got
}

// waitApplied waits until the Fleet is Ready at the revision.
func waitApplied(t *testing.T, f *automationv1alpha1.Fleet, revision string) *automationv1alpha1.Fleet {
	t.Helper()
	var got *automationv1alpha1.Fleet
	if !assert.Eventually(t, func() bool {
		got = fleetState(t, f)
		return got.Status.LastAppliedRevision == revision && conditions.IsReady(got) &&
			got.Status.ObservedGeneration == got.Generation
	}, defaultWait, tick) {
		t.Fatalf("Fleet never applied %s; status: %+v", revision, got.Status)
	}
	return got
}

// waitNotReady waits until the Fleet reports Ready=False with the reason at the revision.
func waitNotReady(t *testing.T, f *automationv1alpha1.Fleet, revision, reason string) *automationv1alpha1.Fleet {
	t.Helper()
	var got *automationv1alpha1.Fleet
	if !assert.Eventually(t, func() bool {
		got = fleetState(t, f)
		ready := conditions.Get(got, meta.ReadyCondition)
		return got.Status.LastAttemptedRevision == revision && ready != nil &&
			ready.Status == metav1.ConditionFalse && ready.Reason == reason
	}, defaultWait, tick) {
		t.Fatalf("Fleet never failed %s with %s; status: %+v", revision, reason, got.Status)
	}
	return got
}

func readyMessage(f *automationv1alpha1.Fleet) string {
	if c := conditions.Get(f, meta.ReadyCondition); c != nil {
		return c.Message
	}
	return ""
}

func namesOf(t *testing.T, ns string) []string {
	t.Helper()
	var list automationv1alpha1.ClusterList
	require.NoError(t, env.Client.List(context.Background(), &list, client.InNamespace(ns)))
	var names []string
	for _, c := range list.Items {
		if c.DeletionTimestamp.IsZero() {
			names = append(names, c.Name)
		}
	}
	sort.Strings(names)
	return names
}

// fleetFiles is a small tenant repository: a profile, a catalog and the named clusters.
func fleetFiles(version string, clusters ...string) map[string]string {
	files := map[string]string{
		"profiles/small.yaml": `apiVersion: automation.dcn.ssu.ac.kr/v1alpha1
kind: InfrastructureProfile
metadata:
  name: small
spec:
  profileName: small
  type: Infrastructure
  revision: 1.0.0
  template:
    path: templates/cluster-template.yaml
  values:
    kubernetesVersion: ` + version + `
    controlPlaneMachineCount: 1
    workerMachineCount: 2
`,
		"catalogs/small.yaml": `apiVersion: automation.dcn.ssu.ac.kr/v1alpha1
kind: ClusterCatalog
metadata:
  name: small
spec:
  infrastructure:
    provider: docker
    profile: {name: small, type: Infrastructure, revision: 1.0.0}
`,
		"kustomization.yaml":              "resources: []\n",
		"templates/cluster-template.yaml": "# a template\n",
	}
	var b strings.Builder
	for i, c := range clusters {
		if i > 0 {
			b.WriteString("---\n")
		}
		fmt.Fprintf(&b, "apiVersion: automation.dcn.ssu.ac.kr/v1alpha1\nkind: Cluster\nmetadata:\n  name: %s\nspec:\n  clusterCatalog: small\n", c)
	}
	if len(clusters) > 0 {
		files["clusters/clusters.yaml"] = b.String()
	}
	return files
}
