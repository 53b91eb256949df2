package plan

import (
	"strings"

	"github.com/pmezard/go-difflib/difflib"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// objectChanges diffs the rendered objects of one cluster, object by object, as unified
// diffs of their YAML.
func objectChanges(base, head []*unstructured.Unstructured) ([]ObjectChange, error) {
	b, err := renderedYAML(base)
	if err != nil {
		return nil, err
	}
	h, err := renderedYAML(head)
	if err != nil {
		return nil, err
	}
	var out []ObjectChange
	for _, key := range unionKeys(b, h) {
		before, inBase := b[key]
		after, inHead := h[key]
		if inBase && inHead && before == after {
			continue
		}
		action := Changed
		switch {
		case !inBase:
			action = Added
		case !inHead:
			action = Removed
		}
		kind, rest, _ := strings.Cut(key, "/")
		namespace, name, _ := strings.Cut(rest, "/")
		out = append(out, ObjectChange{Kind: kind, Namespace: namespace, Name: name, Action: action,
			Diff: unifiedDiff(before, after, key)})
	}
	return out, nil
}

func unifiedDiff(before, after, name string) string {
	from, to := "a/"+name, "b/"+name
	if before == "" {
		from = "/dev/null"
	}
	if after == "" {
		to = "/dev/null"
	}
	diff, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: lines(before), B: lines(after), FromFile: from, ToFile: to, Context: 3,
	})
	if err != nil {
		// difflib only fails on write errors, which a strings.Builder never returns.
		return ""
	}
	return diff
}

// lines splits text after each newline; unlike difflib.SplitLines it adds no empty last line.
func lines(s string) []string {
	if s == "" {
		return nil
	}
	out := strings.SplitAfter(s, "\n")
	if out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return out
}
