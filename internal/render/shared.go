package render

import (
	"encoding/json"
	"reflect"
	"sync"
	"unsafe"
)

// The objects a Renderer renders share parts with each other. A template document's skeleton
// (skeleton.go) is copied per object only where it holds a variable; the rest of it — most of
// an object — is the same maps and lists in every object made from it. The add-on objects
// that many clusters share are likewise one spec in every cluster's copy, and a cluster's
// objects share one map of the render's labels. What each object owns is its top-level map
// and its metadata map (see Result).
//
// What the render changes in a template's objects after decoding (the Cluster's network, the
// workers' version and autoscaling, machine template references) it therefore changes in
// copies of the skeleton's maps: sharedMaps knows which maps those are, and own copies one
// only when it is one of them. The objects the slow path decodes own every map.

// sharedMaps is the set of a template's skeleton maps without a slot, which objects share and
// nothing writes into; with each, its spec hash once asked for. A nil *sharedMaps holds none.
type sharedMaps struct {
	mu sync.RWMutex
	m  map[unsafe.Pointer]*sharedMap
}

type sharedMap struct {
	once sync.Once
	hash string

	refsOnce sync.Once
	refs     bool // a map in it has a string kind and name, as a reference does
}

// mayRefer reports whether the shared map m, or a map under it, looks like a reference
// ({kind, name}); a walk that renames references may skip it when not.
func (sm *sharedMap) mayRefer(m map[string]any) bool {
	sm.refsOnce.Do(func() { sm.refs = hasRef(m) })
	return sm.refs
}

func hasRef(v any) bool {
	switch v := v.(type) {
	case map[string]any:
		_, kind := v["kind"].(string)
		_, name := v["name"].(string)
		if kind && name {
			return true
		}
		for _, e := range v {
			if hasRef(e) {
				return true
			}
		}
	case []any:
		for _, e := range v {
			if hasRef(e) {
				return true
			}
		}
	}
	return false
}

func newSharedMaps() *sharedMaps { return &sharedMaps{m: map[unsafe.Pointer]*sharedMap{}} }

// mapID is a map's identity. The set's keys keep the maps alive, so an identity is never
// reused for another map while the set holds it.
func mapID(m map[string]any) unsafe.Pointer { return reflect.ValueOf(m).UnsafePointer() }

// add records every plain map (one without a slot) of a skeleton tree. It runs before any
// object is filled from the skeleton.
func (s *sharedMaps) add(tree any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case *slotMap:
			for _, e := range v.vals {
				walk(e)
			}
		case slotList:
			for _, e := range v {
				walk(e)
			}
		case map[string]any:
			if _, ok := s.m[mapID(v)]; !ok {
				s.m[mapID(v)] = &sharedMap{}
			}
			for _, e := range v {
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(tree)
}

func (s *sharedMaps) get(m map[string]any) *sharedMap {
	if s == nil || m == nil {
		return nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.m[mapID(m)]
}

// has reports whether m is shared between objects.
func (s *sharedMaps) has(m map[string]any) bool { return s.get(m) != nil }

// own returns m to be written into: a copy (one level) when m is shared, else m itself.
func (s *sharedMaps) own(m map[string]any) map[string]any {
	if s.has(m) {
		return cloneMap(m)
	}
	return m
}

// specHash is the short hash of the JSON of a machine template's spec, computed once per
// shared spec: a shared map never changes.
func (s *sharedMaps) specHash(spec any) string {
	m, _ := spec.(map[string]any)
	if sm := s.get(m); sm != nil {
		sm.once.Do(func() { sm.hash = jsonHash(m) })
		return sm.hash
	}
	return jsonHash(spec)
}

func jsonHash(v any) string {
	b, _ := json.Marshal(v) // map keys marshal sorted: a canonical form
	return shortHash(b)
}

// ownedMap returns the map at fields under obj, made obj's own: every shared map on the way is
// copied (one level) and put in place of the one it copies; a missing one is made. False,
// with nothing written past the map where it stopped, when a value on the way is not a map:
// the same paths unstructured.SetNestedField accepts and refuses.
func (s *sharedMaps) ownedMap(obj map[string]any, fields ...string) (map[string]any, bool) {
	m := obj
	for _, f := range fields {
		var next map[string]any
		switch v, found := m[f]; {
		case !found:
			next = map[string]any{}
		default:
			vm, ok := v.(map[string]any)
			if !ok {
				return nil, false
			}
			if next = s.own(vm); next == nil {
				next = map[string]any{}
			}
		}
		m[f] = next
		m = next
	}
	return m, true
}

// cloneMap copies a map one level deep (nil stays nil).
func cloneMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	c := make(map[string]any, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// ownObject is a copy of obj that shares all but what an object owns: the top-level map and
// its metadata.
func ownObject(obj map[string]any) map[string]any {
	c := cloneMap(obj)
	if md, ok := c["metadata"].(map[string]any); ok {
		c["metadata"] = cloneMap(md)
	}
	return c
}
