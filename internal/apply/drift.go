package apply

import (
	"encoding/json"
	"reflect"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
)

// drifted reports whether the live object no longer carries what we apply: a field we set has
// another value live, or is missing. Fields we never set (API-server defaults, fields of other
// managers) are not drift; server-side apply does not own them either. The revision stamp is
// not compared: an unchanged object keeps the revision it was last applied from.
func drifted(desired, live map[string]any) bool {
	for k, want := range desired {
		switch k {
		case "apiVersion", "kind":
			continue // the cache serves the object at the version we asked for
		case "metadata":
			if !metadataContains(live["metadata"], want) {
				return true
			}
		default:
			if !contains(live[k], want) {
				return true
			}
		}
	}
	return false
}

func metadataContains(live, want any) bool {
	wantMeta, _ := want.(map[string]any)
	liveMeta, _ := live.(map[string]any)
	if !contains(liveMeta["labels"], wantMeta["labels"]) {
		return false
	}
	annotations, _ := wantMeta["annotations"].(map[string]any)
	for k, v := range annotations {
		if k == automationv1alpha1.SourceRevisionAnnotation {
			continue
		}
		liveAnnotations, _ := liveMeta["annotations"].(map[string]any)
		if !contains(liveAnnotations[k], v) {
			return false
		}
	}
	return true
}

// contains reports whether live holds every field of want with the same value.
//
// Lists whose items all have a "name" (the listMapKey of every keyed list in the L-KaaS
// kinds) match item by item by name, so an item another manager adds is not drift; other
// lists are atomic and must have the same length, item by item.
func contains(live, want any) bool {
	switch w := want.(type) {
	case nil:
		return live == nil
	case map[string]any:
		l, ok := live.(map[string]any)
		if !ok {
			return live == nil && len(w) == 0
		}
		for k, wv := range w {
			lv, present := l[k]
			if !present {
				if wv == nil || isEmpty(wv) {
					continue
				}
				return false
			}
			if !contains(lv, wv) {
				return false
			}
		}
		return true
	case []any:
		l, ok := live.([]any)
		if !ok {
			return live == nil && len(w) == 0
		}
		if byName, ok := indexByName(l); ok && allNamed(w) {
			for _, item := range w {
				name := item.(map[string]any)["name"].(string)
				if !contains(byName[name], item) {
					return false
				}
			}
			return true
		}
		if len(l) != len(w) {
			return false
		}
		for i := range w {
			if !contains(l[i], w[i]) {
				return false
			}
		}
		return true
	default:
		if wn, ok := number(want); ok {
			ln, ok := number(live)
			return ok && wn == ln
		}
		return reflect.DeepEqual(live, want)
	}
}

func isEmpty(v any) bool {
	switch t := v.(type) {
	case map[string]any:
		return len(t) == 0
	case []any:
		return len(t) == 0
	}
	return false
}

func allNamed(items []any) bool {
	for _, item := range items {
		m, ok := item.(map[string]any)
		if !ok {
			return false
		}
		if _, ok := m["name"].(string); !ok {
			return false
		}
	}
	return len(items) > 0
}

func indexByName(items []any) (map[string]any, bool) {
	if !allNamed(items) {
		return nil, false
	}
	m := make(map[string]any, len(items))
	for _, item := range items {
		m[item.(map[string]any)["name"].(string)] = item
	}
	return m, true
}

// number normalizes the numeric types that decoders produce (int64 from the API machinery,
// float64 from encoding/json, json.Number, plain ints from hand-built objects), so 3 == 3.0.
func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int32:
		return float64(n), true
	case int64:
		return float64(n), true
	case float32:
		return float64(n), true
	case float64:
		return n, true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}
