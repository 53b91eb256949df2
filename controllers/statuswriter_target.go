package controllers

import (
	"context"
	"fmt"

	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/internal/gitstatus"
	"github.com/dcn-ssu/lkaas/internal/source"
)

// DefaultStatusBranch is where status goes when the Fleet names no branch.
const DefaultStatusBranch = "lkaas/status"

// writeTarget works out where and as whom a Fleet's status is committed: the write-back URL,
// or else the URL of the Fleet's GitRepository; the write-back Secret, or else the
// GitRepository's; the status branch, started from the branch the Fleet watches.
func (r *StatusWriter) writeTarget(ctx context.Context, fleet *automationv1alpha1.Fleet) (gitstatus.Target, error) {
	wb := fleet.Spec.WriteBack
	t := gitstatus.Target{URL: wb.URL, Branch: wb.Branch, CredentialsOverHTTP: r.CredentialsOverHTTP}
	if t.Branch == "" {
		t.Branch = DefaultStatusBranch
	}
	if wb.Author != nil {
		t.Author = gitstatus.Author{Name: wb.Author.Name, Email: wb.Author.Email}
	}

	var secretName string
	if wb.SecretRef != nil {
		secretName = wb.SecretRef.Name
	}
	if ref := fleet.Spec.SourceRef; ref.Kind == sourcev1.GitRepositoryKind {
		repo := &sourcev1.GitRepository{}
		key := source.Key(fleet.Namespace, ref)
		// The same rule as the Fleet controller's: another namespace's GitRepository (its URL,
		// its branch) is read only when the controller allows cross-namespace references.
		if key.Namespace != fleet.Namespace && !r.AllowCrossNamespaceRefs {
			if t.URL == "" {
				return t, fmt.Errorf("cross-namespace source references are not allowed: GitRepository %s is not in namespace %s (the controller runs without --allow-cross-namespace-refs); set spec.writeBack.url", key, fleet.Namespace)
			}
		} else if err := r.Cache.Get(ctx, key, repo); err != nil {
			if t.URL == "" {
				return t, fmt.Errorf("reading GitRepository %s for the status repository: %w", key, err)
			}
		} else {
			if t.URL == "" {
				t.URL = repo.Spec.URL
			}
			t.BaseBranch = "master" // Flux's default when the GitRepository names no ref
			if repo.Spec.Reference != nil && repo.Spec.Reference.Branch != "" {
				t.BaseBranch = repo.Spec.Reference.Branch
			}
			// The source's credentials only in its own namespace: a Secret is never read
			// across namespaces.
			if secretName == "" && repo.Spec.SecretRef != nil && key.Namespace == fleet.Namespace {
				secretName = repo.Spec.SecretRef.Name
			}
		}
	}
	if t.URL == "" {
		return t, fmt.Errorf("spec.writeBack.url is required for a %s source", fleet.Spec.SourceRef.Kind)
	}
	if secretName != "" {
		data, err := r.secretData(ctx, fleet.Namespace, secretName)
		if err != nil {
			return t, err
		}
		t.Credentials = data
	}
	if wb.SigningKeySecretRef != nil {
		data, err := r.secretData(ctx, fleet.Namespace, wb.SigningKeySecretRef.Name)
		if err != nil {
			return t, err
		}
		signer, err := gitstatus.SignerFromSecret(data)
		if err != nil {
			return t, fmt.Errorf("signing key Secret %s: %w", wb.SigningKeySecretRef.Name, err)
		}
		t.Signer = signer
	}
	return t, nil
}

func (r *StatusWriter) secretData(ctx context.Context, ns, name string) (map[string][]byte, error) {
	secret := &corev1.Secret{}
	if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, secret); err != nil {
		return nil, fmt.Errorf("reading Secret %s/%s: %w", ns, name, err)
	}
	return secret.Data, nil
}
