package render

import (
	"slices"
	"strings"
)

const (
	infrastructureGroup = "infrastructure.cluster.x-k8s.io"
	bootstrapGroup      = "bootstrap.cluster.x-k8s.io"
	controlPlaneGroup   = "controlplane.cluster.x-k8s.io"
	clusterGroup        = "cluster.x-k8s.io"
	addonsGroup         = "addons.cluster.x-k8s.io"
)

// isImmutableTemplate tells the machine templates CAPI never re-reads in place: changing one
// does not roll machines; pointing KCP or a MachineDeployment at a new one does.
func isImmutableTemplate(group, kind string) bool {
	return group == infrastructureGroup && strings.HasSuffix(kind, "MachineTemplate") ||
		group == bootstrapGroup && strings.HasSuffix(kind, "ConfigTemplate")
}

// nameTemplatesByContent appends an 8-hex hash of each machine template's spec to its name
// ("<cluster>-control-plane" -> "<cluster>-control-plane-1a2b3c4d") and points every
// reference in objs ({apiGroup|apiVersion, kind, name}) at the new name. A flavour change
// thus yields a new template and a rollout; an unchanged spec keeps its name.
func nameTemplatesByContent(objs []map[string]any, shared *sharedMaps) {
	type ref struct{ group, kind, name string }
	renamed := map[ref]string{}
	for _, obj := range objs {
		group, kind := groupKind(obj)
		if !isImmutableTemplate(group, kind) {
			continue
		}
		md := obj["metadata"].(map[string]any)
		old, _ := md["name"].(string)
		name := old + "-" + shared.specHash(obj["spec"])
		md["name"] = name
		renamed[ref{group, kind, old}] = name
	}
	if len(renamed) == 0 {
		return
	}
	// A reference in a map the template's objects share is renamed in a copy of the maps on
	// the way to it (shared.go); walk returns v's copy and true when it renamed in one.
	var walk func(v any) (any, bool)
	walk = func(v any) (any, bool) {
		switch v := v.(type) {
		case map[string]any:
			if sm := shared.get(v); sm != nil && !sm.mayRefer(v) {
				return v, false // shared, and nothing in it to rename
			}
			out, copied := v, false
			write := func(k string, e any) {
				if !copied {
					out, copied = shared.own(v), true
				}
				out[k] = e
			}
			if kind, ok := v["kind"].(string); ok {
				if name, ok := v["name"].(string); ok {
					group, _ := v["apiGroup"].(string)
					if group == "" {
						group = apiGroup(v["apiVersion"])
					}
					if n, ok := renamed[ref{group, kind, name}]; ok {
						write("name", n)
					}
				}
			}
			for k, e := range v {
				if c, changed := walk(e); changed {
					write(k, c)
				}
			}
			return out, copied
		case []any:
			var out []any
			for i, e := range v {
				if c, changed := walk(e); changed {
					if out == nil {
						out = slices.Clone(v) // a list is copied whenever it changes
					}
					out[i] = c
				}
			}
			return out, out != nil
		}
		return v, false
	}
	for _, obj := range objs {
		if spec, changed := walk(obj["spec"]); changed {
			obj["spec"] = spec
		}
	}
}

// groupKind returns an object's API group and kind.
func groupKind(obj map[string]any) (string, string) {
	kind, _ := obj["kind"].(string)
	return apiGroup(obj["apiVersion"]), kind
}

// apiGroup is the group of an apiVersion ("" for the core group "v1").
func apiGroup(v any) string {
	s, _ := v.(string)
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		return s[:i]
	}
	return ""
}
