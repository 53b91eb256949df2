package manager

import (
	"k8s.io/apimachinery/pkg/api/meta"
	toolscache "k8s.io/client-go/tools/cache"
)

// lastAppliedAnnotation is client-side apply's copy of the whole object (kubectl apply without
// --server-side): as large as the object itself, and read by no L-KaaS controller.
const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// stripUnread is the cache's transform: it drops from every object before it is stored what
// no L-KaaS controller reads, so that the cache of 1,000 clusters' objects holds their content
// and not their bookkeeping:
//
//   - managed fields: every manager's field set, typically larger than the spec. The only
//     reader, the autoscaler hand-over (controllers/cluster_autoscaler.go), reads them from
//     the API server on the switch;
//   - the last-applied annotation of client-side apply.
//
// Objects the cache hands out are therefore not the server's byte for byte: nothing may
// update an object read from the cache with these fields emptied (L-KaaS writes by
// server-side apply of its own documents and by patches, which leave them alone).
func stripUnread() toolscache.TransformFunc {
	return func(in any) (any, error) {
		obj, err := meta.Accessor(in)
		if err != nil {
			return in, nil // a tombstone or another non-object: nothing to strip
		}
		if obj.GetManagedFields() != nil {
			obj.SetManagedFields(nil)
		}
		if a := obj.GetAnnotations(); a != nil {
			if _, ok := a[lastAppliedAnnotation]; ok {
				delete(a, lastAppliedAnnotation)
				obj.SetAnnotations(a)
			}
		}
		return in, nil
	}
}
