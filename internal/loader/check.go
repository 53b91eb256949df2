package loader

import (
	"math"
	"strconv"
	"strings"
)

// checker walks a canonical document against its schema: it reports unknown fields and
// values of the wrong type where they were written, records the origin of every field, and
// builds the plain value (maps, lists, strings, numbers) that decodes into the API type.
type checker struct {
	*docErrors
	origin *Origin
}

// value checks n against s at canonical path and returns its plain form; ok is false when a
// problem was reported.
func (c *checker) value(s *schema, n *node, path string) (v any, ok bool) {
	if path != "" {
		c.origin.Fields[path] = n.at
		c.origin.Written[path] = n.path
	}
	if n.isNull() {
		return nil, true
	}
	switch s.shape {
	case shapeObject:
		return c.object(s, n, path)
	case shapeValues:
		if !n.isMap() {
			c.atValue(n, "must be a map of values, not %s", n.describe())
			return nil, false
		}
		return c.free(n, path)
	case shapeMap:
		if !n.isMap() {
			c.atValue(n, "must be a map, not %s", n.describe())
			return nil, false
		}
		out, ok := make(map[string]any, len(n.keys)), true
		for i, k := range n.keys {
			val, good := c.value(s.elem, n.vals[i], childPath(path, k))
			ok = ok && good
			if val != nil {
				out[k] = val
			}
		}
		return out, ok
	case shapeList:
		if !n.isSeq() {
			c.atValue(n, "must be a list, not %s", n.describe())
			return nil, false
		}
		out, ok := make([]any, 0, len(n.items)), true
		for i, item := range n.items {
			p := itemPath(path, i)
			if item.isNull() {
				c.origin.Fields[p], c.origin.Written[p] = item.at, item.path
				c.atValue(item, "a list item must not be empty")
				ok = false
				continue
			}
			val, good := c.value(s.elem, item, p)
			ok = ok && good
			out = append(out, val)
		}
		return out, ok
	}
	return c.scalar(s, n)
}

func (c *checker) object(s *schema, n *node, path string) (any, bool) {
	if !n.isMap() {
		c.atValue(n, "must be a map with fields %s, not %s", strings.Join(s.names, ", "), n.describe())
		return nil, false
	}
	out, ok := make(map[string]any, len(n.keys)), true
	for i, k := range n.keys {
		fs, known := s.fields[k]
		if !known {
			c.atNode(n.vals[i], "unknown field %q%s; accepted: %s", k, didYouMean(k, s.names), strings.Join(s.names, ", "))
			ok = false
			continue
		}
		val, good := c.value(fs, n.vals[i], childPath(path, k))
		ok = ok && good
		if val != nil {
			out[k] = val
		}
	}
	return out, ok
}

func (c *checker) scalar(s *schema, n *node) (any, bool) {
	if !n.isScalar() {
		c.atValue(n, "must be %s, not %s", shapeName(s), n.describe())
		return nil, false
	}
	switch s.shape {
	case shapeString:
		if isNumberOrBool(n.tag) {
			c.atValue(n, "must be a string, not %s; write it in quotes: %q", n.describe(), n.value)
			return nil, false
		}
		return n.value, true
	case shapeDuration:
		if isNumberOrBool(n.tag) || !validDuration(n.value) || !parsesAsDuration(n.value) {
			c.atValue(n, "invalid duration %q: write a number with a unit ms, s, m or h, e.g. 30s, 5m, 1h30m", n.value)
			return nil, false
		}
		return n.value, true
	case shapeBool:
		if n.tag != "!!bool" {
			c.atValue(n, "must be true or false, not %q", n.value)
			return nil, false
		}
		return strings.EqualFold(n.value, "true"), true
	case shapeInt:
		i, err := parseInt(n)
		if err != nil || (s.bits < 64 && (i > 1<<(s.bits-1)-1 || i < -(1<<(s.bits-1)))) {
			c.atValue(n, "must be a whole number of %d bits, not %q", s.bits, n.value)
			return nil, false
		}
		return i, true
	case shapeFloat:
		f, err := parseNumber(n)
		if err != nil {
			c.atValue(n, "must be a number, not %q", n.value)
			return nil, false
		}
		return f, true
	case shapeIntOrString:
		if n.tag == "!!int" {
			i, err := parseInt(n)
			if err != nil || i > math.MaxInt32 || i < math.MinInt32 {
				c.atValue(n, "must be a whole number of 32 bits or a string such as \"25%%\", not %q", n.value)
				return nil, false
			}
			return i, true
		}
		if isNumberOrBool(n.tag) {
			c.atValue(n, "must be a whole number or a string such as \"25%%\", not %q", n.value)
			return nil, false
		}
		return n.value, true
	}
	c.atValue(n, "unsupported value")
	return nil, false
}

// free converts a free-form map of values (a profile's values, an override). It also checks
// the values whose meaning the loader knows wherever they sit: kubernetesVersion.
func (c *checker) free(n *node, path string) (any, bool) {
	if path != "" {
		c.origin.Fields[path] = n.at
		c.origin.Written[path] = n.path
	}
	switch {
	case n.isNull():
		return nil, true
	case n.isMap():
		out, ok := make(map[string]any, len(n.keys)), true
		for i, k := range n.keys {
			p := childPath(path, k)
			v, good := c.free(n.vals[i], p)
			if good && k == "kubernetesVersion" {
				good = c.kubernetesVersion(n.vals[i])
			}
			ok = ok && good
			out[k] = v
		}
		return out, ok
	case n.isSeq():
		out, ok := make([]any, len(n.items)), true
		for i, item := range n.items {
			v, good := c.free(item, itemPath(path, i))
			ok = ok && good
			out[i] = v
		}
		return out, ok
	}
	switch n.tag {
	case "!!int":
		if i, err := parseInt(n); err == nil {
			return i, true
		}
		return c.freeFloat(n)
	case "!!float":
		return c.freeFloat(n)
	case "!!bool":
		return strings.EqualFold(n.value, "true"), true
	}
	return n.value, true
}

func (c *checker) freeFloat(n *node) (any, bool) {
	f, err := parseNumber(n)
	if err != nil {
		c.atValue(n, "%q is not a finite number; write it in quotes if it is text", n.value)
		return nil, false
	}
	return f, true
}

// kubernetesVersion checks a kubernetesVersion value: "v" and a semantic version, as Cluster
// API and kubeadm take it.
func (c *checker) kubernetesVersion(n *node) bool {
	if n.isNull() {
		return true
	}
	if !n.isScalar() || isNumberOrBool(n.tag) {
		c.atValue(n, "invalid Kubernetes version %s: write it as a string like v1.25.0", n.describe())
		return false
	}
	if !kubernetesVersionPattern.MatchString(n.value) {
		hint := ""
		if kubernetesVersionPattern.MatchString("v" + n.value) {
			hint = sprintf(" (did you mean %q?)", "v"+n.value)
		}
		c.atValue(n, "invalid Kubernetes version %q%s: expected v<major>.<minor>.<patch>, like v1.25.0", n.value, hint)
		return false
	}
	return true
}

func isNumberOrBool(tag string) bool {
	return tag == "!!int" || tag == "!!float" || tag == "!!bool"
}

// parseInt reads a YAML integer (decimal, 0x, 0o, 0b, with optional underscores).
func parseInt(n *node) (int64, error) {
	if n.tag != "!!int" {
		return 0, strconv.ErrSyntax
	}
	return strconv.ParseInt(n.value, 0, 64)
}

// parseNumber reads a YAML number as a finite float; JSON cannot hold .inf or .nan.
func parseNumber(n *node) (float64, error) {
	if n.tag != "!!int" && n.tag != "!!float" {
		return 0, strconv.ErrSyntax
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(n.value, "_", ""), 64)
	if err != nil {
		if i, intErr := strconv.ParseInt(n.value, 0, 64); intErr == nil {
			return float64(i), nil
		}
		return 0, err
	}
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, strconv.ErrRange
	}
	return f, nil
}

func shapeName(s *schema) string {
	switch s.shape {
	case shapeString:
		return "a string"
	case shapeInt:
		return "a whole number"
	case shapeBool:
		return "true or false"
	case shapeFloat:
		return "a number"
	case shapeDuration:
		return "a duration such as 5m"
	case shapeIntOrString:
		return "a number or a string"
	}
	return "a value"
}
