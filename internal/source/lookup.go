package source

import (
	"context"
	"fmt"

	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
)

// AccessDeniedError is a reference the controller's configuration does not allow.
type AccessDeniedError struct{ msg string }

func (e *AccessDeniedError) Error() string { return e.msg }

// Key is where a Fleet's source lives: its own namespace unless the reference names another.
func Key(fleetNamespace string, ref automationv1alpha1.SourceReference) types.NamespacedName {
	ns := ref.Namespace
	if ns == "" {
		ns = fleetNamespace
	}
	return types.NamespacedName{Namespace: ns, Name: ref.Name}
}

// Get reads the Flux source a Fleet names. A source in another namespace is refused with an
// AccessDeniedError unless allowCrossNamespace is set: a tenant must not be able to deploy
// another tenant's repository into its namespace.
func Get(ctx context.Context, c client.Reader, fleetNamespace string, ref automationv1alpha1.SourceReference, allowCrossNamespace bool) (sourcev1.Source, error) {
	key := Key(fleetNamespace, ref)
	if key.Namespace != fleetNamespace && !allowCrossNamespace {
		return nil, &AccessDeniedError{fmt.Sprintf(
			"cross-namespace source references are not allowed: %s %s is not in namespace %s (the controller runs without --allow-cross-namespace-refs)",
			ref.Kind, key, fleetNamespace)}
	}
	var obj interface {
		client.Object
		sourcev1.Source
	}
	switch ref.Kind {
	case sourcev1.GitRepositoryKind:
		obj = &sourcev1.GitRepository{}
	case sourcev1.OCIRepositoryKind:
		obj = &sourcev1.OCIRepository{}
	case sourcev1.BucketKind:
		obj = &sourcev1.Bucket{}
	default:
		return nil, fmt.Errorf("source kind %q is not supported: want GitRepository, OCIRepository or Bucket", ref.Kind)
	}
	if err := c.Get(ctx, key, obj); err != nil {
		return nil, err
	}
	return obj, nil
}
