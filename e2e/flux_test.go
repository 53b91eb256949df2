//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/internal/plane"
)

// Bounds of the waits. On this machine kind each step takes about a second; the bounds leave
// room for a loaded machine without letting a broken chain hang the run.
const (
	artifactWait = time.Minute
	applyWait    = 2 * time.Minute
)

// exampleFleets bind the example repository as the demo does: the administrators' profiles in
// "default" and the starlab tenant, which uses them.
var exampleFleets = []struct{ namespace, name, path string }{
	{namespace: "default", name: "platform", path: "profiles"},
	{namespace: "starlab", name: "starlab", path: "tenants/starlab"},
}

// The whole GitOps chain on real parts: gitops-examples/fleet-repo pushed to a Git server,
// fetched by the real source-controller, applied by L-KaaS; then a second push, announced the
// way a Flux Receiver does (the requestedAt annotation), is fetched and applied too.
func TestFleetAppliesWhatSourceControllerFetched(t *testing.T) {
	ctx := context.Background()
	c := mgmt.APIServer.Client
	lap := stopwatch(t)
	var cleanup []client.Object

	url, head := pushExampleRepository(t, "lkaas/fleet-repo.git")
	lap("pushed gitops-examples/fleet-repo (%s)", head[:12])

	for _, f := range exampleFleets {
		ensureNamespace(t, f.namespace)
		repo := &sourcev1.GitRepository{
			ObjectMeta: metav1.ObjectMeta{Namespace: f.namespace, Name: "fleet-repo"},
			Spec: sourcev1.GitRepositorySpec{URL: url, Interval: metav1.Duration{Duration: time.Minute},
				Reference: &sourcev1.GitRepositoryRef{Branch: "main"}},
		}
		require.NoError(t, c.Create(ctx, repo))
		fleet := &automationv1alpha1.Fleet{
			ObjectMeta: metav1.ObjectMeta{Namespace: f.namespace, Name: f.name},
			Spec: automationv1alpha1.FleetSpec{
				SourceRef:     automationv1alpha1.SourceReference{Kind: sourcev1.GitRepositoryKind, Name: repo.Name},
				Path:          f.path,
				Interval:      metav1.Duration{Duration: 10 * time.Minute},
				RetryInterval: &metav1.Duration{Duration: 2 * time.Second},
				Prune:         true,
			},
		}
		require.NoError(t, c.Create(ctx, fleet))
		cleanup = append(cleanup, fleet, repo)
	}
	// Deleting the Fleets prunes what they applied; the manager must still run meanwhile.
	t.Cleanup(func() {
		lap := stopwatch(t)
		for _, obj := range cleanup {
			if err := c.Delete(context.Background(), obj); err != nil && !apierrors.IsNotFound(err) {
				t.Errorf("deleting %T %s: %v", obj, obj.GetName(), err)
			}
			wait(t, applyWait, fmt.Sprintf("deletion of %T %s/%s", obj, obj.GetNamespace(), obj.GetName()), func() (bool, string) {
				err := c.Get(context.Background(), client.ObjectKeyFromObject(obj), obj)
				return apierrors.IsNotFound(err), fmt.Sprintf("finalizers %v", obj.GetFinalizers())
			})
		}
		for _, name := range []string{"core5g-cluster", "second-push"} {
			err := c.Get(context.Background(), client.ObjectKey{Namespace: "starlab", Name: name}, &automationv1alpha1.ClusterCatalog{})
			if !apierrors.IsNotFound(err) {
				t.Errorf("ClusterCatalog starlab/%s outlived its Fleet (get: %v)", name, err)
			}
		}
		lap("deleted the Fleets (pruning what they applied) and the GitRepositories")
	})
	lap("created the GitRepositories and Fleets")

	revision := "main@sha1:" + head
	waitForArtifacts(t, revision)
	lap("source-controller stored artifact %s", revision)
	waitForFleets(t, revision)
	lap("both Fleets applied %s", revision)
	requireCatalog(t, "starlab", "core5g-cluster")

	// The second push adds a catalog to the tenant.
	head2 := pushCatalog(t, url, "second-push")
	require.NotEqual(t, head, head2)
	lap("pushed a second commit (%s)", head2[:12])
	requestReconcile(t)
	lap("annotated the GitRepositories with %s", meta.ReconcileRequestAnnotation)
	revision2 := "main@sha1:" + head2
	waitForArtifacts(t, revision2)
	lap("source-controller stored artifact %s", revision2)
	waitForFleets(t, revision2)
	lap("both Fleets applied %s", revision2)
	requireCatalog(t, "starlab", "second-push")
}

// stopwatch logs each step with its own duration and the time since the test began.
func stopwatch(t *testing.T) func(format string, args ...any) {
	begin := time.Now()
	last := begin
	return func(format string, args ...any) {
		t.Helper()
		now := time.Now()
		t.Logf("%-70s %6.2fs (at %6.2fs)", fmt.Sprintf(format, args...), now.Sub(last).Seconds(), now.Sub(begin).Seconds())
		last = now
	}
}

// pushExampleRepository pushes gitops-examples/fleet-repo as branch main of a new repository
// on the Git server and returns its URL and the head commit.
func pushExampleRepository(t *testing.T, repoPath string) (url, head string) {
	t.Helper()
	root, err := plane.RepoRoot()
	require.NoError(t, err)
	require.NoError(t, gitServer.InitRepo(filepath.Join(root, "gitops-examples", "fleet-repo"), "main", repoPath))
	url = gitServer.HTTPAddress() + "/" + repoPath
	return url, remoteHead(t, url)
}

// pushCatalog pushes a copy of the tenant's first catalog under a new name.
func pushCatalog(t *testing.T, url, name string) string {
	t.Helper()
	return pushChange(t, url, "Add catalog "+name, func(dir string) {
		data, err := os.ReadFile(filepath.Join(dir, "tenants", "starlab", "catalogs.yaml"))
		require.NoError(t, err)
		first, _, _ := strings.Cut(string(data), "\n---\n")
		require.Contains(t, first, "name: core5g-cluster")
		doc := strings.Replace(first, "name: core5g-cluster", "name: "+name, 1) + "\n"
		require.NoError(t, os.WriteFile(filepath.Join(dir, "tenants", "starlab", name+".yaml"), []byte(doc), 0o644))
	})
}

func remoteHead(t *testing.T, url string) string {
	t.Helper()
	out := gitCLI(t, "", "ls-remote", url, "refs/heads/main")
	head, _, _ := strings.Cut(out, "\t")
	require.Len(t, head, 40, "ls-remote: %q", out)
	return head
}

// requestReconcile asks source-controller to fetch every Fleet's GitRepository now.
func requestReconcile(t *testing.T) {
	t.Helper()
	for _, f := range exampleFleets {
		reconcileNow(t, &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: f.namespace, Name: "fleet-repo"}})
	}
}

// waitForArtifacts waits until source-controller, through its own storage server, holds the
// revision of every Fleet's GitRepository.
func waitForArtifacts(t *testing.T, revision string) {
	t.Helper()
	wait(t, artifactWait, "GitRepository artifacts at "+revision, func() (bool, string) {
		var states []string
		done := true
		for _, f := range exampleFleets {
			repo := &sourcev1.GitRepository{}
			if err := mgmt.APIServer.Client.Get(context.Background(), client.ObjectKey{Namespace: f.namespace, Name: "fleet-repo"}, repo); err != nil {
				return false, err.Error()
			}
			a := repo.Status.Artifact
			if a == nil || a.Revision != revision || !conditions.IsReady(repo) {
				done = false
				states = append(states, fmt.Sprintf("%s/%s: artifact %v, ready: %q", f.namespace, repo.Name, artifactRevision(a), conditions.GetMessage(repo, meta.ReadyCondition)))
				continue
			}
			if !strings.Contains(a.URL, "//"+mgmt.SourceStorageAddr+"/") {
				return false, fmt.Sprintf("%s/%s: artifact URL %s is not source-controller's storage %s", f.namespace, repo.Name, a.URL, mgmt.SourceStorageAddr)
			}
		}
		return done, strings.Join(states, "; ")
	})
}

func artifactRevision(a *meta.Artifact) string {
	if a == nil {
		return "none"
	}
	return a.Revision
}

// waitForFleets waits until every Fleet is Ready with the revision applied.
func waitForFleets(t *testing.T, revision string) {
	t.Helper()
	wait(t, applyWait, "Fleets applying "+revision, func() (bool, string) {
		var states []string
		for _, f := range exampleFleets {
			fleet := &automationv1alpha1.Fleet{}
			if err := mgmt.APIServer.Client.Get(context.Background(), client.ObjectKey{Namespace: f.namespace, Name: f.name}, fleet); err != nil {
				return false, err.Error()
			}
			if fleet.Status.LastAppliedRevision != revision || !conditions.IsReady(fleet) || fleet.Status.ObservedGeneration != fleet.Generation {
				states = append(states, fmt.Sprintf("%s/%s: applied %q, attempted %q, ready: %q", f.namespace, f.name,
					fleet.Status.LastAppliedRevision, fleet.Status.LastAttemptedRevision, conditions.GetMessage(fleet, meta.ReadyCondition)))
			}
		}
		return len(states) == 0, strings.Join(states, "; ")
	})
}

func requireCatalog(t *testing.T, namespace, name string) {
	t.Helper()
	require.NoError(t, mgmt.APIServer.Client.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: name}, &automationv1alpha1.ClusterCatalog{}),
		"ClusterCatalog %s/%s from the repository", namespace, name)
}

func ensureNamespace(t *testing.T, name string) {
	t.Helper()
	err := mgmt.APIServer.Client.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		require.NoError(t, err)
	}
}
