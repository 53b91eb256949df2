package apply

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// cached reads an object from the informer cache: no API request. Kinds the scheme knows are
// read typed, so the Applier shares the informers the controllers already run; other kinds
// fall back to an unstructured informer. found is false when the cache has no such object.
//
// The object shares its maps and slices with the cache (no deep copy: a pass reads a thousand
// objects); it is read-only, and a caller that hands it to a write must copy it first.
func (a *Applier) cached(ctx context.Context, ref ObjectRef) (obj client.Object, found bool, err error) {
	obj, err = a.newObject(ref)
	if err != nil {
		return nil, false, err
	}
	err = a.cache.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, obj,
		&client.GetOptions{UnsafeDisableDeepCopy: ptr.To(true)})
	switch {
	case apierrors.IsNotFound(err):
		return nil, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("%s: reading the cache: %w", ref, err)
	}
	return obj, true, nil
}

// cachedContent is cached as JSON-shaped maps, for the drift check and member counts.
func (a *Applier) cachedContent(ctx context.Context, ref ObjectRef) (map[string]any, bool, error) {
	obj, found, err := a.cached(ctx, ref)
	if err != nil || !found {
		return nil, found, err
	}
	m, err := toMap(obj)
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", ref, err)
	}
	return m, true, nil
}

func (a *Applier) newObject(ref ObjectRef) (client.Object, error) {
	if a.scheme.Recognizes(ref.GVK) {
		o, err := a.scheme.New(ref.GVK)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ref, err)
		}
		if obj, ok := o.(client.Object); ok {
			return obj, nil
		}
	}
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(ref.GVK)
	return u, nil
}
