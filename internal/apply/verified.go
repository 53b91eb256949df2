package apply

import "sync"

// verifiedVersions remembers, per inventory ID, a live resourceVersion known to hold the
// document with a given hash: written by our apply, or compared field by field. Any write by
// anyone changes the resourceVersion, so while the cache still shows that version and the
// document still has that hash, the object cannot have drifted, and the comparison (the
// costliest step of a no-op pass) is skipped.
type verifiedVersions struct {
	mu sync.Mutex
	m  map[string]verified
}

type verified struct {
	resourceVersion string
	hash            string
}

func (v *verifiedVersions) matches(id, resourceVersion, hash string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	got, ok := v.m[id]
	return ok && resourceVersion != "" && got == verified{resourceVersion: resourceVersion, hash: hash}
}

// wrote reports whether this Applier last wrote or verified the object with the document of
// this hash, at whatever version: the content is ours unless someone changed a field we set.
func (v *verifiedVersions) wrote(id, hash string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	got, ok := v.m[id]
	return ok && got.hash == hash
}

func (v *verifiedVersions) record(id, resourceVersion, hash string) {
	if resourceVersion == "" {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.m[id] = verified{resourceVersion: resourceVersion, hash: hash}
}

func (v *verifiedVersions) forget(id string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.m, id)
}

// retain forgets every ID but those of ids: objects no longer desired need no memory.
func (v *verifiedVersions) retain(ids map[string]bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for id := range v.m {
		if !ids[id] {
			delete(v.m, id)
		}
	}
}
