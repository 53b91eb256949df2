package demo

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/fluxcd/pkg/testserver"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/internal/testenv"
)

// demoFleet is one Fleet of the example repository: the administrators' profiles in
// "default", and the starlab tenant, which uses them.
type demoFleet struct {
	namespace, name, path string
}

var demoFleets = []demoFleet{
	{namespace: "default", name: "platform", path: "profiles"},
	{namespace: "starlab", name: "starlab", path: "tenants/starlab"},
}

// publishExampleRepository serves gitops-examples/fleet-repo as a Flux artifact and creates, in
// each Fleet's namespace, a GitRepository whose status carries it, as source-controller would
// after pulling the repository. It returns the revision published.
func publishExampleRepository(ctx context.Context, c client.Client, server *testserver.ArtifactServer) (string, error) {
	root, err := testenv.RepoRoot()
	if err != nil {
		return "", err
	}
	const file = "fleet-repo.tar.gz"
	sum, err := server.ArtifactFromDir(filepath.Join(root, "gitops-examples", "fleet-repo"), file)
	if err != nil {
		return "", err
	}
	url, err := server.URLForFile(file)
	if err != nil {
		return "", err
	}
	revision := "main@sha256:" + sum[:12]
	for _, f := range demoFleets {
		if err := ensureNamespace(ctx, c, f.namespace); err != nil {
			return "", err
		}
		repo := &sourcev1.GitRepository{
			ObjectMeta: metav1.ObjectMeta{Namespace: f.namespace, Name: "fleet-repo"},
			Spec:       sourcev1.GitRepositorySpec{URL: "http://127.0.0.1/fleet-repo.git", Interval: metav1.Duration{Duration: 10 * time.Minute}},
		}
		if err := c.Create(ctx, repo); err != nil && !apierrors.IsAlreadyExists(err) {
			return "", err
		}
		repo.Status.Artifact = &meta.Artifact{Path: file, URL: url, Revision: revision, Digest: "sha256:" + sum, LastUpdateTime: metav1.Now()}
		conditions.MarkTrue(repo, meta.ReadyCondition, meta.SucceededReason, "stored artifact for revision %s", revision)
		if err := c.Status().Update(ctx, repo); err != nil {
			return "", err
		}
	}
	return revision, nil
}

// createFleets binds each part of the repository to its namespace.
func createFleets(ctx context.Context, c client.Client) error {
	for _, f := range demoFleets {
		fleet := &automationv1alpha1.Fleet{
			ObjectMeta: metav1.ObjectMeta{Namespace: f.namespace, Name: f.name},
			Spec: automationv1alpha1.FleetSpec{
				SourceRef:     automationv1alpha1.SourceReference{Kind: sourcev1.GitRepositoryKind, Name: "fleet-repo"},
				Path:          f.path,
				Interval:      metav1.Duration{Duration: 10 * time.Minute},
				RetryInterval: &metav1.Duration{Duration: 2 * time.Second},
				Prune:         true,
			},
		}
		if err := c.Create(ctx, fleet); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	return nil
}

// waitForFleets waits until every Fleet applied the revision, or says why not.
func waitForFleets(ctx context.Context, c client.Client, revision string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		var notReady []string
		for _, f := range demoFleets {
			fleet := &automationv1alpha1.Fleet{}
			if err := c.Get(ctx, client.ObjectKey{Namespace: f.namespace, Name: f.name}, fleet); err != nil {
				return err
			}
			if fleet.Status.LastAppliedRevision != revision || !conditions.IsReady(fleet) {
				notReady = append(notReady, fmt.Sprintf("%s/%s: %s", f.namespace, f.name, conditions.GetMessage(fleet, meta.ReadyCondition)))
			}
		}
		if len(notReady) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("fleets not ready after %s: %v", timeout, notReady)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func ensureNamespace(ctx context.Context, c client.Client, name string) error {
	err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}
