package render

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/drone/envsubst/parse"
	yamlv2 "go.yaml.in/yaml/v2"
	yamlv3 "go.yaml.in/yaml/v3"
)

// A template document is parsed as YAML once per shape of its variables rather than once per
// cluster: a skeleton is the document substituted with a marker in place of each variable,
// decoded with the same decoder as the slow path, with the scalars that hold markers kept as
// slots. Rendering a cluster copies the skeleton and fills the slots with its values. This is
// exact only where text substitution could not have changed the document's structure, so a
// value that is empty or holds anything but [A-Za-z0-9._/+-] is substituted as text into the
// skeleton itself (one skeleton per such value), and a document the walk cannot prove
// (anchors, tags, markers in keys, string functions such as ${V,,}) always takes the slow path.

// skeletonMarker starts every marker; a template that contains it takes the slow path.
const skeletonMarker = "LKAASSLOT"

// maxSkeletons bounds the skeletons kept per document; past it, new shapes take the slow path.
const maxSkeletons = 64

// skeletonMinUses is how often a shape must be rendered before a skeleton is built for it: a
// Renderer that renders one cluster (the Cluster controller's) gains nothing from one.
const skeletonMinUses = 2

// docSkeletons is the per-document state of the fast path.
type docSkeletons struct {
	params []string // the variables the document uses, sorted
	usable bool     // false: always the slow path

	mu    sync.Mutex
	uses  map[string]int
	built map[string]*skeleton // nil value: that shape cannot be done fast

	shared *sharedMaps // where the skeletons' shared maps are recorded
}

// skeleton is one decoded document with slots for its variables.
type skeleton struct {
	// tree is the decoded document: a slotMap or slotList where a slot lies below (and for
	// the object's own parts, see markSlots), a *slot where markers were, and plain
	// map[string]any / []any / scalars elsewhere.
	tree any
}

// slotMap and slotList are the skeleton's maps and lists that fill copies for each object;
// a plain map[string]any or []any of a skeleton holds no slot and is not copied: every
// object filled from the skeleton shares it (see Result).
type (
	// slotMap is a map's entries as lists: fill walks them faster than a map.
	slotMap struct {
		keys []string
		vals []any
	}
	slotList []any
)

func newSlotMap(m map[string]any) *slotMap {
	s := &slotMap{keys: make([]string, 0, len(m)), vals: make([]any, 0, len(m))}
	for k, v := range m {
		s.keys = append(s.keys, k)
		s.vals = append(s.vals, v)
	}
	return s
}

// slot is a scalar that held markers: its text with them, and whether it was a plain scalar
// (so its type is resolved again once filled, as "${COUNT}" becomes an integer).
type slot struct {
	text  string
	plain bool
	// parts are text cut at its markers: literal text, or the index of a value (-1: text).
	parts []slotPart
}

type slotPart struct {
	text  string
	value int
}

// newSlot cuts a scalar's text at its markers; false when a marker is malformed.
func newSlot(text string, plain bool) (*slot, bool) {
	v := &slot{text: text, plain: plain}
	rest := text
	for {
		i := strings.Index(rest, skeletonMarker)
		if i < 0 {
			if rest != "" {
				v.parts = append(v.parts, slotPart{text: rest, value: -1})
			}
			return v, true
		}
		end := i + markerLen
		if end > len(rest) || rest[end-1] != 'X' {
			return nil, false
		}
		n, err := strconv.Atoi(rest[i+len(skeletonMarker) : end-1])
		if err != nil || n < 0 {
			return nil, false
		}
		if i > 0 {
			v.parts = append(v.parts, slotPart{text: rest[:i], value: -1})
		}
		v.parts = append(v.parts, slotPart{value: n})
		rest = rest[end:]
	}
}

func newDocSkeletons(t *substTemplate, shared *sharedMaps) *docSkeletons {
	d := &docSkeletons{uses: map[string]int{}, built: map[string]*skeleton{}, shared: shared}
	if strings.Contains(t.text, skeletonMarker) || t.static {
		return d
	}
	names := map[string]string{}
	if !onlySimpleFuncs(t.tree.Root) {
		return d
	}
	collectParams(t.tree.Root, names)
	for n := range names {
		d.params = append(d.params, n)
	}
	sort.Strings(d.params)
	d.usable = len(d.params) > 0
	return d
}

// onlySimpleFuncs reports whether every substitution is ${V} or one of the default forms,
// whose result is the value itself whenever the value is set.
func onlySimpleFuncs(n parse.Node) bool {
	switch n := n.(type) {
	case *parse.ListNode:
		for _, c := range n.Nodes {
			if !onlySimpleFuncs(c) {
				return false
			}
		}
	case *parse.FuncNode:
		if n.Name != "" && !defaultFuncs[n.Name] {
			return false
		}
		for _, a := range n.Args {
			if !onlySimpleFuncs(a) {
				return false
			}
		}
	}
	return true
}

func markerFor(i int) string { return fmt.Sprintf("%s%04dX", skeletonMarker, i) }

// markerLen is the length of every marker.
const markerLen = len(skeletonMarker) + 5

// slotSafe is whether a value can be put into a scalar without changing what the YAML around
// it means: not empty, and only letters, digits and . _ / + -.
func slotSafe(v string) bool {
	if v == "" {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '/' || c == '+' || c == '-') {
			return false
		}
	}
	return true
}

// decodeFast decodes the document for vars from a skeleton; ok is false when this document or
// these values must take the slow path.
func (d *docSkeletons) decodeFast(t *substTemplate, vars map[string]string) (obj map[string]any, ok bool, err error) {
	if !d.usable {
		return nil, false, nil
	}
	for _, n := range d.params {
		if strings.Contains(vars[n], skeletonMarker) {
			return nil, false, nil
		}
	}
	var key strings.Builder
	for _, n := range d.params {
		v, set := vars[n]
		switch {
		case !set:
			key.WriteString("U\x00") // unset: only a default can fill it
		case slotSafe(v):
			key.WriteString("S\x00")
		default:
			fmt.Fprintf(&key, "V%d:%s\x00", len(v), v)
		}
	}
	k := key.String()

	d.mu.Lock()
	s, known := d.built[k]
	if !known {
		d.uses[k]++
		if d.uses[k] < skeletonMinUses || len(d.built) >= maxSkeletons {
			d.mu.Unlock()
			return nil, false, nil
		}
	}
	d.mu.Unlock()
	if !known {
		s = d.build(t, vars)
		d.mu.Lock()
		d.built[k] = s
		delete(d.uses, k)
		d.mu.Unlock()
	}
	if s == nil {
		return nil, false, nil
	}
	values := make([]string, len(d.params))
	for i, n := range d.params {
		values[i] = vars[n]
	}
	out, ok, err := fill(s.tree, values)
	if !ok || err != nil {
		return nil, ok, err
	}
	m, _ := out.(map[string]any)
	if checkObject(m) != nil {
		return nil, false, nil // the slow path says what is wrong
	}
	return m, true, nil
}

// build makes the skeleton of one shape, or nil when the walk cannot prove it exact.
func (d *docSkeletons) build(t *substTemplate, vars map[string]string) *skeleton {
	marked := make(map[string]string, len(d.params))
	for i, n := range d.params {
		v, set := vars[n]
		switch {
		case !set:
		case slotSafe(v):
			marked[n] = markerFor(i)
		default:
			marked[n] = v
		}
	}
	text, err := t.execute(marked)
	if err != nil {
		return nil
	}
	obj, err := decodeObject([]byte(text))
	if err != nil || obj == nil {
		return nil // the slow path reports it
	}
	var doc yamlv3.Node
	if err := yamlv3.Unmarshal([]byte(text), &doc); err != nil || doc.Kind != yamlv3.DocumentNode || len(doc.Content) != 1 {
		return nil
	}
	tree, _, ok := markSlots(doc.Content[0], obj, ownRoot)
	if !ok {
		return nil
	}
	d.shared.add(tree)
	return &skeleton{tree: tree}
}

// own says which of a skeleton's maps fill copies for every object whether or not they hold
// a slot: the object itself and its metadata, which the render and its callers write per
// object (names, namespace, labels). Anything else that holds no slot is shared.
type own int

const (
	ownNot own = iota
	ownRoot
	ownMetadata
)

func (o own) child(key string) own {
	if o == ownRoot && key == "metadata" {
		return ownMetadata
	}
	return ownNot
}

// markSlots walks the YAML node tree beside the decoded value and replaces every scalar that
// holds a marker by a slot, and every map or list that holds a slot (or that o says is
// copied per object) by a slotMap or slotList. It gives up (false) on anything whose decoding
// it cannot follow. slots says whether a slot lies in n.
func markSlots(n *yamlv3.Node, v any, o own) (out any, slots, ok bool) {
	if n.Anchor != "" || n.Kind == yamlv3.AliasNode || n.Style&yamlv3.TaggedStyle != 0 {
		return nil, false, false
	}
	switch n.Kind {
	case yamlv3.MappingNode:
		m, ok := v.(map[string]any)
		if !ok || len(n.Content) != 2*len(m) {
			return nil, false, false
		}
		for i := 0; i < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if k.Kind != yamlv3.ScalarNode || k.Anchor != "" || k.Style&yamlv3.TaggedStyle != 0 || strings.Contains(k.Value, skeletonMarker) {
				return nil, false, false
			}
			child, found := m[k.Value]
			if !found {
				return nil, false, false
			}
			c, s, ok := markSlots(val, child, o.child(k.Value))
			if !ok {
				return nil, false, false
			}
			m[k.Value] = c
			slots = slots || s
		}
		if slots || o != ownNot {
			return newSlotMap(m), slots, true
		}
		return m, false, true
	case yamlv3.SequenceNode:
		s, ok := v.([]any)
		if !ok || len(s) != len(n.Content) {
			return nil, false, false
		}
		for i, c := range n.Content {
			e, has, ok := markSlots(c, s[i], ownNot)
			if !ok {
				return nil, false, false
			}
			s[i] = e
			slots = slots || has
		}
		if slots {
			return slotList(s), true, true
		}
		return s, false, true
	case yamlv3.ScalarNode:
		if !strings.Contains(n.Value, skeletonMarker) {
			return v, false, true
		}
		if s, ok := v.(string); !ok || s != n.Value {
			return nil, false, false
		}
		sl, ok := newSlot(n.Value, n.Style == 0)
		if !ok {
			return nil, false, false
		}
		return sl, true, true
	}
	return nil, false, false
}

// fill copies a skeleton's slotMaps and slotLists with their slots filled and shares
// everything else; false when a filled plain scalar would no longer be read as one scalar (a
// lone "-").
func fill(v any, values []string) (any, bool, error) {
	switch v := v.(type) {
	case *slotMap:
		m := make(map[string]any, len(v.keys))
		for i, e := range v.vals {
			c, ok, err := fill(e, values)
			if !ok || err != nil {
				return nil, ok, err
			}
			m[v.keys[i]] = c
		}
		return m, true, nil
	case slotList:
		s := make([]any, len(v))
		for i, e := range v {
			c, ok, err := fill(e, values)
			if !ok || err != nil {
				return nil, ok, err
			}
			s[i] = c
		}
		return s, true, nil
	case *slot:
		text, ok := v.fillText(values)
		if !ok {
			return nil, false, nil
		}
		if !v.plain {
			return text, true, nil
		}
		if text == "-" {
			return nil, false, nil
		}
		return resolvePlain(text)
	default:
		return v, true, nil // no slot below: shared
	}
}

// fillText is the slot's text with each marker replaced by its value; false when a marker
// names no value.
func (v *slot) fillText(values []string) (string, bool) {
	if len(v.parts) == 1 && v.parts[0].value >= 0 { // the whole scalar is one value
		if v.parts[0].value >= len(values) {
			return "", false
		}
		return values[v.parts[0].value], true
	}
	size := 0
	for _, p := range v.parts {
		switch {
		case p.value < 0:
			size += len(p.text)
		case p.value < len(values):
			size += len(values[p.value])
		default:
			return "", false
		}
	}
	var b strings.Builder
	b.Grow(size)
	for _, p := range v.parts {
		if p.value < 0 {
			b.WriteString(p.text)
		} else {
			b.WriteString(values[p.value])
		}
	}
	return b.String(), true
}

// resolvePlain gives a filled plain scalar the type the YAML decoder would: only words that
// may be something other than a string (numbers, YAML 1.1 booleans and nulls, .inf) are
// decoded; any other word is a string.
func resolvePlain(s string) (any, bool, error) {
	c := s[0]
	if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || c == '/' {
		switch strings.ToLower(s) {
		case "y", "yes", "n", "no", "true", "false", "on", "off", "null":
		default:
			return s, true, nil
		}
	}
	if isDecimal(s) {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n, true, nil
		}
	}
	var v any
	if err := yamlv2.Unmarshal([]byte(s), &v); err != nil {
		return nil, false, nil
	}
	out, err := jsonTypes(v)
	if err != nil {
		return nil, false, nil
	}
	return out, true, nil
}

// isDecimal is a YAML 1.1 decimal integer written plainly: digits without a leading zero
// (which would make it octal).
func isDecimal(s string) bool {
	if s == "" || len(s) > 18 || (s[0] == '0' && len(s) > 1) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
