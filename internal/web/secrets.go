package web

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// noSecrets refuses to read any Secret, typed, unstructured or metadata-only: the status
// page has no business with credentials, and a template mistake must not be able to show one.
type noSecrets struct{ client.Reader }

func isSecret(obj runtime.Object) bool {
	kind := obj.GetObjectKind().GroupVersionKind().Kind
	if kind == "" {
		kind = fmt.Sprintf("%T", obj)
	}
	return strings.HasSuffix(kind, "Secret") || strings.HasSuffix(kind, "SecretList")
}

func (r noSecrets) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if isSecret(obj) {
		return fmt.Errorf("the status page does not read Secrets (%s)", key)
	}
	return r.Reader.Get(ctx, key, obj, opts...)
}

func (r noSecrets) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	if isSecret(list) {
		return fmt.Errorf("the status page does not read Secrets")
	}
	return r.Reader.List(ctx, list, opts...)
}
