package render

import (
	"fmt"
	"strings"

	"github.com/drone/envsubst/parse"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/dcn-ssu/lkaas/internal/loader"
	"github.com/dcn-ssu/lkaas/internal/tenancy"
)

// placeholderPrefix stands in for a variable's value when a template is checked before any
// cluster renders it.
const placeholderPrefix = "lkaas-variable-"

// CheckTemplate applies the tenancy rules to a template file of a repository without
// rendering a cluster: every variable becomes a placeholder (NAMESPACE the Fleet's
// namespace), so the kinds and namespaces written in the template are checked the moment a
// revision arrives. Kinds and apiVersions must be written literally for that. The render
// checks again with the real values. Each problem is placed at its document in the file.
func CheckTemplate(file string, raw []byte, namespace string, extra []schema.GroupKind, scope tenancy.ScopeFunc) loader.ErrorList {
	t, err := parseClusterTemplate(file, raw)
	if err != nil {
		// Nothing can render from it either: the render reports the syntax, and this check
		// stays about what a template may create.
		return nil
	}
	vars := map[string]string{}
	for _, d := range t.docs {
		collectParams(d.tree.Root, vars)
	}
	vars[VarNamespace] = namespace

	var (
		errs loader.ErrorList
		docs []tenancy.Document
	)
	for i, d := range t.docs {
		pos := loader.Position{File: file, Line: t.lines[i], Column: 1}
		text, err := d.execute(vars)
		var obj map[string]any
		if err == nil {
			obj, err = decodeObject([]byte(text))
		}
		if err != nil {
			errs = append(errs, &loader.Error{Pos: pos, Message: fmt.Sprintf("cannot be read with its variables as placeholders: %v", err)})
			continue
		}
		if obj == nil {
			continue
		}
		apiVersion, _ := obj["apiVersion"].(string)
		kind, _ := obj["kind"].(string)
		if strings.Contains(apiVersion, placeholderPrefix) || strings.Contains(kind, placeholderPrefix) {
			errs = append(errs, &loader.Error{Pos: pos, Field: "kind", Message: "apiVersion and kind must be written literally, not with ${...}, so that the repository can be checked before any cluster renders it"})
			continue
		}
		docs = append(docs, tenancy.Document{Pos: pos, Object: obj})
	}
	errs = append(errs, tenancy.Check(docs, tenancy.Policy{Namespace: namespace, ExtraKinds: extra, Scope: scope})...)
	errs.Sort()
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// collectParams gives every variable the text names, defaulted or not, a placeholder value:
// a default must not decide what the check sees, since a profile value may replace it.
func collectParams(n parse.Node, vars map[string]string) {
	switch n := n.(type) {
	case *parse.ListNode:
		for _, c := range n.Nodes {
			collectParams(c, vars)
		}
	case *parse.FuncNode:
		if n.Param != "" {
			vars[n.Param] = placeholderPrefix + strings.ToLower(strings.ReplaceAll(n.Param, "_", "-"))
		}
		for _, a := range n.Args {
			collectParams(a, vars)
		}
	}
}
