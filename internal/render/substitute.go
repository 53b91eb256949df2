package render

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/drone/envsubst"
	"github.com/drone/envsubst/parse"
)

// MissingVariablesError lists every variable a template needs that has neither a value nor a
// default, sorted, so the user fixes them all in one go.
type MissingVariablesError struct {
	Names []string
}

func (e *MissingVariablesError) Error() string {
	return "template variables without a value or default: " + strings.Join(e.Names, ", ")
}

// Substitute expands ${VAR}, ${VAR:=default} and ${VAR:-default} in text the way clusterctl
// does (drone/envsubst semantics; "$$" is a literal "$"). Every variable without a value or
// default is reported at once as a *MissingVariablesError.
func Substitute(text string, vars map[string]string) (string, error) {
	t, err := parseSubst(text)
	if err != nil {
		return "", err
	}
	return t.execute(vars)
}

// substTemplate is one parsed piece of text: parsed once, executed once per cluster.
type substTemplate struct {
	text string
	tmpl *envsubst.Template
	tree *parse.Tree
	// static is true when substitution cannot change the text.
	static bool
}

// parseSubst parses text for substitution. The parsers of drone/envsubst are not hardened
// against every input, so a panic becomes a syntax error instead of taking the caller down.
func parseSubst(text string) (t *substTemplate, err error) {
	defer func() {
		if r := recover(); r != nil {
			t, err = nil, fmt.Errorf("template syntax: cannot parse substitutions: %v", r)
		}
	}()
	tmpl, err := envsubst.Parse(text)
	if err != nil {
		return nil, fmt.Errorf("template syntax: %w", err)
	}
	tree, err := parse.Parse(text)
	if err != nil {
		return nil, fmt.Errorf("template syntax: %w", err)
	}
	t = &substTemplate{text: text, tmpl: tmpl, tree: tree}
	// Text with neither variables nor escapes substitutes to itself: skip the executor.
	tn, ok := tree.Root.(*parse.TextNode)
	t.static = ok && tn.Value == text
	return t, nil
}

// missing returns the names, sorted and unique, that the text needs but vars lacks.
func (t *substTemplate) missing(vars map[string]string) []string {
	seen := map[string]bool{}
	collectMissing(t.tree.Root, vars, seen)
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// defaultFuncs are the documented default forms: ${V:=d}, ${V:-d} and their colon-less twins.
var defaultFuncs = map[string]bool{"=": true, ":=": true, "-": true, ":-": true}

func collectMissing(n parse.Node, vars map[string]string, out map[string]bool) {
	switch n := n.(type) {
	case *parse.ListNode:
		for _, c := range n.Nodes {
			collectMissing(c, vars, out)
		}
	case *parse.FuncNode:
		_, set := vars[n.Param]
		if defaultFuncs[n.Name] {
			// The default is only evaluated (and so only needs its own variables) when unset.
			if !set {
				for _, a := range n.Args {
					collectMissing(a, vars, out)
				}
			}
			return
		}
		if !set && n.Param != "" {
			out[n.Param] = true
		}
		for _, a := range n.Args {
			collectMissing(a, vars, out)
		}
	}
}

// execute substitutes vars into the text, after checking that none is missing.
func (t *substTemplate) execute(vars map[string]string) (out string, err error) {
	if t.static {
		return t.text, nil
	}
	if names := t.missing(vars); len(names) > 0 {
		return "", &MissingVariablesError{Names: names}
	}
	defer func() {
		if r := recover(); r != nil {
			out, err = "", fmt.Errorf("template syntax: cannot substitute: %v", r)
		}
	}()
	return t.tmpl.Execute(func(name string) string { return vars[name] })
}

// isMissing reports whether err lists missing variables, and which.
func isMissing(err error) ([]string, bool) {
	var m *MissingVariablesError
	if errors.As(err, &m) {
		return m.Names, true
	}
	return nil, false
}
