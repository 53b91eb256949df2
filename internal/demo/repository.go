package demo

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/internal/plane"
)

// The demo's tenant: one namespace, one GitRepository, one Fleet that applies the whole
// repository, registers the members with EMCO and writes their status back.
const (
	Namespace          = "edge"
	GitRepositoryName  = "mec"
	FleetName          = "edge"
	LogicalClusterName = "mec-cluster"
	// EMCOEndpoint is the endpoint the seed's mec-cluster names in its managed-by labels.
	EMCOEndpoint = "emco-mec-central-mgmt"
	// StatusBranch receives the status commits.
	StatusBranch = "lkaas/status"
)

// WriteMecRepository writes the demo's fleet repository into dir (see
// gitops-examples/mec-demo/README.md): the example profiles, moved to the tenant's namespace,
// the example templates, and the seed's mec-cluster on the in-memory catalog.
func WriteMecRepository(dir string) error {
	root, err := plane.RepoRoot()
	if err != nil {
		return err
	}
	examples := filepath.Join(root, "gitops-examples")
	// The profiles name manifests under addons/ (Multus, a StorageClass): a repository with
	// the profiles must carry them, or its Fleet refuses the revision.
	for _, sub := range []string{"profiles", "templates", "addons"} {
		if err := os.CopyFS(filepath.Join(dir, sub), os.DirFS(filepath.Join(examples, "fleet-repo", sub))); err != nil {
			return fmt.Errorf("demo: copying the example %s: %w", sub, err)
		}
	}
	profiles, err := filepath.Glob(filepath.Join(dir, "profiles", "*.yaml"))
	if err != nil {
		return err
	}
	for _, p := range profiles {
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		// One Fleet in one namespace applies everything, so the profiles live beside the
		// tenant's catalog instead of in the shared "default".
		moved := strings.ReplaceAll(string(data), "namespace: default", "namespace: "+Namespace)
		if err := os.WriteFile(p, []byte(moved), 0o644); err != nil {
			return err
		}
	}
	data, err := os.ReadFile(filepath.Join(examples, "mec-demo", "mec-cluster.yaml"))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, "tenant"), 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "tenant", "mec-cluster.yaml"), data, 0o644)
}

// GitRepository is the demo tenant's Flux source for the repository at url.
func GitRepository(url string, interval time.Duration) *sourcev1.GitRepository {
	return &sourcev1.GitRepository{
		ObjectMeta: metav1.ObjectMeta{Namespace: Namespace, Name: GitRepositoryName},
		Spec: sourcev1.GitRepositorySpec{
			URL:       url,
			Interval:  metav1.Duration{Duration: interval},
			Reference: &sourcev1.GitRepositoryRef{Branch: "main"},
		},
	}
}

// Fleet is the demo tenant's Fleet: it applies the repository with pruning, registers the
// members with the EMCO at emcoURL and writes status to StatusBranch under status/.
func Fleet(emcoURL string) *automationv1alpha1.Fleet {
	return &automationv1alpha1.Fleet{
		ObjectMeta: metav1.ObjectMeta{Namespace: Namespace, Name: FleetName},
		Spec: automationv1alpha1.FleetSpec{
			SourceRef:     automationv1alpha1.SourceReference{Kind: sourcev1.GitRepositoryKind, Name: GitRepositoryName},
			Interval:      metav1.Duration{Duration: 10 * time.Minute},
			RetryInterval: &metav1.Duration{Duration: 2 * time.Second},
			Prune:         true,
			EMCO: &automationv1alpha1.EMCOSettings{Endpoints: []automationv1alpha1.EMCOEndpoint{
				{Name: EMCOEndpoint, URL: emcoURL},
			}},
			WriteBack: &automationv1alpha1.WriteBack{Branch: StatusBranch, Path: "status/"},
		},
	}
}
