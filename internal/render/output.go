package render

import (
	"bytes"
	"io"
	"sort"
	"strings"

	yamlv2 "go.yaml.in/yaml/v2"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// rankedObject is an object with its place in apply order.
type rankedObject struct {
	obj  map[string]any
	rank int
}

// clusterRank orders a cluster's own objects: what others refer to comes first, so a human
// reading the output (and an apply in order) meets a name before its references.
func clusterRank(obj map[string]any) int {
	group, kind := groupKind(obj)
	switch {
	case group == clusterGroup && kind == "Cluster":
		return 0
	case group == infrastructureGroup && strings.HasSuffix(kind, "Cluster"):
		return 1
	case group == controlPlaneGroup:
		return 2
	case isImmutableTemplate(group, kind):
		return 3
	case group == clusterGroup && kind == "MachineDeployment":
		return 4
	default:
		return 5
	}
}

// addonRank orders shared add-on objects after the cluster's: data, then its consumers.
func addonRank(obj map[string]any) int {
	switch _, kind := groupKind(obj); kind {
	case "ConfigMap", "Secret":
		return 10
	case "ClusterResourceSet":
		return 11
	default:
		return 12
	}
}

func sortObjects(items []rankedObject) []*unstructured.Unstructured {
	name := func(o map[string]any) string { s, _ := o["metadata"].(map[string]any)["name"].(string); return s }
	sort.SliceStable(items, func(i, j int) bool {
		a, b := items[i], items[j]
		if a.rank != b.rank {
			return a.rank < b.rank
		}
		if ka, kb := a.obj["kind"].(string), b.obj["kind"].(string); ka != kb {
			return ka < kb
		}
		return name(a.obj) < name(b.obj)
	})
	out := make([]*unstructured.Unstructured, len(items))
	for i, it := range items {
		out[i] = &unstructured.Unstructured{Object: it.obj}
	}
	return out
}

// WriteYAML writes the objects as multi-document YAML, each document opened by "---", keys
// sorted: the same plan always gives the same bytes, and outputs of several clusters can be
// concatenated.
func (r *Result) WriteYAML(w io.Writer) error {
	for _, o := range r.Objects {
		// The objects hold JSON types only, so marshalling them directly gives what
		// sigs.k8s.io/yaml would (sorted keys) without its JSON round trip.
		b, err := yamlv2.Marshal(o.Object)
		if err != nil {
			return err
		}
		if _, err := io.WriteString(w, "---\n"); err != nil {
			return err
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// YAML returns the objects as multi-document YAML (see WriteYAML).
func (r *Result) YAML() ([]byte, error) {
	var buf bytes.Buffer
	if err := r.WriteYAML(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
