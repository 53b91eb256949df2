package loader

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// maxAliasNodes bounds how many nodes alias expansion may add to one document, so that a
// "billion laughs" file is refused instead of exhausting memory.
const maxAliasNodes = 100_000

// rawDoc is one YAML document of a file, as parsed.
type rawDoc struct {
	file string
	root *yaml.Node // the document's top value; nil for an empty document
}

// splitDocuments parses every document of a file. A syntax error ends the file: the YAML
// parser cannot resume after one, so what follows it is not read.
func splitDocuments(file string, data []byte, errs *ErrorList) []rawDoc {
	var docs []rawDoc
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			*errs = append(*errs, syntaxError(file, data, err))
			return docs
		}
		if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
			docs = append(docs, rawDoc{file: file, root: doc.Content[0]})
		}
	}
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

// syntaxError turns a parser error into an Error at the line it names. The parser reports no
// column, so the column is that of the line's first character.
func syntaxError(file string, data []byte, err error) *Error {
	msg := err.Error()
	line := 1
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		if n, convErr := strconv.Atoi(m[1]); convErr == nil && n > 0 {
			line = n
		}
		msg = msg[len(m[0]):]
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	return &Error{
		Pos:     Position{File: file, Line: line, Column: firstColumn(data, line)},
		Message: "invalid YAML: " + msg,
	}
}

// firstColumn is the 1-based column of the first non-blank character of a 1-based line.
func firstColumn(data []byte, line int) int {
	for l := 1; l < line; l++ {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			return 1
		}
		data = data[i+1:]
	}
	for i, c := range data {
		if c != ' ' && c != '\t' {
			if c == '\n' || c == '\r' {
				return 1
			}
			return i + 1
		}
	}
	return 1
}

// lifter converts a yaml.Node tree into nodes: aliases expanded (bounded), merge keys applied,
// duplicate and complex keys reported.
type lifter struct {
	file      string
	kind      string // of the document, for messages
	name      string
	errs      *ErrorList
	aliasLeft int                 // nodes alias expansion may still add
	expanding map[*yaml.Node]bool // anchors being expanded, to refuse self-reference
	inAlias   int                 // depth of alias expansion currently in progress
}

func newLifter(file string, errs *ErrorList, kind, name string) *lifter {
	return &lifter{file: file, kind: kind, name: name, errs: errs, aliasLeft: maxAliasNodes, expanding: map[*yaml.Node]bool{}}
}

func (l *lifter) position(y *yaml.Node) Position {
	return Position{File: l.file, Line: y.Line, Column: y.Column}
}

func (l *lifter) fail(y *yaml.Node, path, format string, args ...any) {
	*l.errs = append(*l.errs, &Error{Pos: l.position(y), Kind: l.kind, Name: l.name, Field: path, Message: sprintf(format, args...)})
}

// lift converts y, written at `at` under `path`; it returns nil when y cannot be used.
func (l *lifter) lift(y *yaml.Node, at Position, path string) *node {
	if y.Kind == yaml.AliasNode {
		target := y.Alias
		if target == nil || l.expanding[target] {
			l.fail(y, path, "alias *%s refers to the value that contains it", y.Value)
			return nil
		}
		l.expanding[target] = true
		l.inAlias++
		n := l.lift(target, at, path)
		l.inAlias--
		delete(l.expanding, target)
		return n
	}
	if l.inAlias > 0 {
		if l.aliasLeft <= 0 {
			return nil
		}
		l.aliasLeft--
		if l.aliasLeft == 0 {
			l.fail(y, path, "aliases expand to more than %d values; write the document out instead", maxAliasNodes)
			return nil
		}
	}
	n := &node{kind: y.Kind, at: at, pos: l.position(y), path: path}
	switch y.Kind {
	case yaml.ScalarNode:
		n.tag, n.value = y.ShortTag(), y.Value
	case yaml.SequenceNode:
		n.tag = "!!seq"
		n.items = make([]*node, 0, len(y.Content))
		for i, c := range y.Content {
			p := itemPath(path, i)
			if item := l.lift(c, l.position(c), p); item != nil {
				n.items = append(n.items, item)
			}
		}
	case yaml.MappingNode:
		n.tag = "!!map"
		l.liftMapping(n, y, path)
	default:
		l.fail(y, path, "unsupported YAML node")
		return nil
	}
	return n
}

// liftMapping fills n with the entries of y, then with those of its merge keys ("<<"), which
// never replace an entry written out.
func (l *lifter) liftMapping(n *node, y *yaml.Node, path string) {
	var merges []*yaml.Node
	firstAt := map[string]Position{}
	for i := 0; i+1 < len(y.Content); i += 2 {
		k, v := y.Content[i], y.Content[i+1]
		if k.Kind == yaml.AliasNode && k.Alias != nil {
			k = k.Alias
		}
		if k.Kind != yaml.ScalarNode {
			l.fail(k, path, "a mapping key must be a plain value, not %s", kindName(k))
			continue
		}
		if k.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		key := k.Value
		keyAt := l.position(k)
		p := childPath(path, key)
		if first, dup := firstAt[key]; dup {
			l.fail(k, p, "duplicate key %q (first written at line %d)", key, first.Line)
			continue
		}
		firstAt[key] = keyAt
		if val := l.lift(v, keyAt, p); val != nil {
			n.keys = append(n.keys, key)
			n.vals = append(n.vals, val)
		}
	}
	for _, m := range merges {
		l.merge(n, m, path)
	}
}

func (l *lifter) merge(n *node, m *yaml.Node, path string) {
	src := m
	if src.Kind == yaml.AliasNode && src.Alias != nil {
		src = src.Alias
	}
	switch src.Kind {
	case yaml.SequenceNode:
		for _, c := range src.Content {
			l.merge(n, c, path)
		}
		return
	case yaml.MappingNode:
	default:
		l.fail(m, path, "a merge key (<<) takes a map or a list of maps, not %s", kindName(src))
		return
	}
	from := l.lift(m, l.position(m), path)
	if from == nil {
		return
	}
	for i, k := range from.keys {
		if n.index(k) < 0 {
			n.keys = append(n.keys, k)
			n.vals = append(n.vals, from.vals[i])
		}
	}
}

func kindName(y *yaml.Node) string {
	switch y.Kind {
	case yaml.MappingNode:
		return "a map"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	default:
		return "a value"
	}
}
