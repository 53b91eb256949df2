package apply

import (
	"sync"
	"unsafe"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

// preparedMemo keeps the objects the last Apply prepared. A Fleet hands in the very same
// slice of objects for every pass over one build (the Fleet controller caches builds by
// revision), and each of its clusters changing phase wakes a pass: converting and hashing a
// thousand objects again each time was most of the Fleet's CPU while a large fleet came up.
// Objects handed to Apply are not changed afterwards (the build's contract), so the same
// slice, revision and shard stamp mean the same prepared objects. The memo holds the slice it
// was prepared from, so no later slice can be allocated at that address while it is kept.
type preparedMemo struct {
	mu       sync.Mutex
	data     *client.Object
	n        int
	revision string
	shard    shardStamp
	objs     []desiredObject
}

func (m *preparedMemo) get(desired []client.Object, revision string, shard shardStamp,
	prepare func([]client.Object, string, shardStamp) ([]desiredObject, error)) ([]desiredObject, error) {
	data := unsafe.SliceData(desired)
	m.mu.Lock()
	if m.objs != nil && data != nil && m.data == data && m.n == len(desired) && m.revision == revision && m.shard == shard {
		objs := m.objs
		m.mu.Unlock()
		return objs, nil
	}
	m.mu.Unlock()

	objs, err := prepare(desired, revision, shard)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.data, m.n, m.revision, m.shard, m.objs = data, len(desired), revision, shard, objs
	m.mu.Unlock()
	return objs, nil
}
