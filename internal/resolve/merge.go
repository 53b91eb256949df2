package resolve

// mergeValues returns a new tree: base with over laid on top. Maps merge key by key at every
// depth; lists and scalars from over replace base's whole; a nil (JSON null) in over removes
// the key, so a child can unset what a parent set. Neither input is modified and the result
// shares nothing with them, so a plan's values are its own to change.
func mergeValues(base, over map[string]any) map[string]any {
	out := cloneMap(base, len(over))
	mergeInto(out, over)
	return out
}

// mergeInto lays over on top of dst, which the caller owns.
func mergeInto(dst, over map[string]any) {
	for k, v := range over {
		if v == nil {
			delete(dst, k)
			continue
		}
		if overMap, ok := v.(map[string]any); ok {
			dstMap, ok := dst[k].(map[string]any)
			if !ok { // a map replaces a scalar or list; merging into an empty one drops nulls
				dstMap = make(map[string]any, len(overMap))
				dst[k] = dstMap
			}
			mergeInto(dstMap, overMap)
			continue
		}
		dst[k] = cloneValue(v)
	}
}

func cloneMap(m map[string]any, extra int) map[string]any {
	out := make(map[string]any, len(m)+extra)
	for k, v := range m {
		out[k] = cloneValue(v)
	}
	return out
}

// cloneValue deep-copies a decoded JSON value; scalars are immutable and shared.
func cloneValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		return cloneMap(t, 0)
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = cloneValue(e)
		}
		return out
	default:
		return v
	}
}
