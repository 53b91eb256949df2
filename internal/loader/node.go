package loader

import (
	"strconv"

	"go.yaml.in/yaml/v3"
)

// node is a YAML value lifted out of yaml.Node, with aliases expanded and merge keys applied.
// Each value remembers where and under which path the user wrote it, so normalization can move
// it into the canonical shape and errors still point at the user's line.
type node struct {
	kind  yaml.Kind // MappingNode, SequenceNode or ScalarNode
	tag   string    // resolved short tag of a scalar: !!str, !!int, !!float, !!bool, !!null, …
	value string    // text of a scalar

	at   Position // where the field was written: its key inside a mapping, else the value
	pos  Position // where the value itself starts
	path string   // path as written, e.g. "spec.infrastructure.spec.provider.name"

	keys  []string // mapping keys, in the order written
	vals  []*node  // mapping values, parallel to keys
	items []*node  // sequence items
}

func (n *node) isMap() bool    { return n != nil && n.kind == yaml.MappingNode }
func (n *node) isSeq() bool    { return n != nil && n.kind == yaml.SequenceNode }
func (n *node) isScalar() bool { return n != nil && n.kind == yaml.ScalarNode }
func (n *node) isNull() bool   { return n == nil || (n.isScalar() && n.tag == "!!null") }

// str is the text of a string-like scalar, "" for anything else.
func (n *node) str() string {
	if !n.isScalar() || n.tag == "!!null" {
		return ""
	}
	return n.value
}

func (n *node) index(key string) int {
	if !n.isMap() {
		return -1
	}
	for i, k := range n.keys {
		if k == key {
			return i
		}
	}
	return -1
}

// get returns the value of key in a mapping, nil when absent.
func (n *node) get(key string) *node {
	if i := n.index(key); i >= 0 {
		return n.vals[i]
	}
	return nil
}

// take removes key from a mapping and returns its value, nil when absent.
func (n *node) take(key string) *node {
	i := n.index(key)
	if i < 0 {
		return nil
	}
	v := n.vals[i]
	n.keys = append(n.keys[:i], n.keys[i+1:]...)
	n.vals = append(n.vals[:i], n.vals[i+1:]...)
	return v
}

// set puts key last in a mapping, replacing an earlier value of the same key.
func (n *node) set(key string, v *node) {
	if i := n.index(key); i >= 0 {
		n.vals[i] = v
		return
	}
	n.keys = append(n.keys, key)
	n.vals = append(n.vals, v)
}

// newMap makes an empty mapping that stands where origin was written.
func newMap(origin *node) *node {
	return &node{kind: yaml.MappingNode, tag: "!!map", at: origin.at, pos: origin.pos, path: origin.path}
}

// newScalar makes a string scalar that stands where origin was written.
func newScalar(origin *node, value string) *node {
	return &node{kind: yaml.ScalarNode, tag: "!!str", value: value, at: origin.at, pos: origin.pos, path: origin.path}
}

// describe names the YAML type of a value for messages: "a map", "a list", "a number", …
func (n *node) describe() string {
	switch {
	case n == nil:
		return "nothing"
	case n.isMap():
		return "a map"
	case n.isSeq():
		return "a list"
	}
	switch n.tag {
	case "!!int", "!!float":
		return "a number"
	case "!!bool":
		return "a boolean"
	case "!!null":
		return "null"
	default:
		return "a string"
	}
}

// childPath appends a mapping key to a field path; keys that are not plain identifiers (label
// keys such as "automation.dcn.ssu.ac.kr/region") are quoted in brackets.
func childPath(parent, key string) string {
	if !plainKey(key) {
		return parent + "[" + strconv.Quote(key) + "]"
	}
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// itemPath appends a list index to a field path.
func itemPath(parent string, i int) string {
	return parent + "[" + strconv.Itoa(i) + "]"
}

func plainKey(key string) bool {
	if key == "" {
		return false
	}
	for i, r := range key {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r == '_':
		case (r >= '0' && r <= '9') || r == '-':
			if i == 0 {
				return false
			}
		default:
			return false
		}
	}
	return true
}
