package resolve

import (
	"slices"
	"strings"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/internal/loader"
)

// chainResult is a profile revision with its ancestors merged. It is shared by every cluster
// that uses the revision, so its values are never handed out without a copy.
type chainResult struct {
	failed bool
	// profiles of the chain, child first.
	profiles     []*profileDoc
	template     *automationv1alpha1.TemplateSource
	clusterClass *automationv1alpha1.ClusterClassReference
	values       map[string]any
}

// chain resolves a profile's parent chain once; a broken link is reported once, at the
// profile whose parent reference has to change, with the chain as walked from start.
func (r *resolver) chain(start *profileDoc) *chainResult {
	if done, ok := r.chains[start]; ok {
		return done
	}
	path := []*profileDoc{start}
	var base *chainResult // an already resolved ancestor the walk stopped at
	var broken *loader.Error
	for cur := start; cur.object.Spec.Parent != nil; {
		ref := *cur.object.Spec.Parent
		if ref.Type != cur.key.Type {
			broken = cur.ref.errorAt("spec.parent.type", "parent chain %s -> %s: %s is %s profile, so its parent must be %s too, not %s",
				chainText(path), refText(ref), cur.key.Name, withArticle(cur.key.Type), cur.key.Type, ref.Type)
			break
		}
		parent, problem := r.lookup(ref, cur.key.Namespace)
		if parent == nil {
			broken = cur.ref.errorAt("spec.parent", "parent chain %s -> %s: %s", chainText(path), refText(ref), problem)
			break
		}
		if slices.Contains(path, parent) {
			broken = cur.ref.errorAt("spec.parent", "parent chain %s -> %s is a cycle", chainText(path), revisionText(parent))
			break
		}
		if done, ok := r.chains[parent]; ok {
			base = done
			break
		}
		path = append(path, parent)
		cur = parent
	}

	failed := broken != nil || (base != nil && base.failed)
	if broken != nil {
		r.sink.add(broken)
	}
	for _, p := range path {
		if _, ok := r.ownValues(p); !ok {
			failed = true
		}
	}
	if failed {
		for _, p := range path {
			r.chains[p] = &chainResult{failed: true}
		}
		return r.chains[start]
	}

	// Merge from the oldest ancestor down, recording each link's own result on the way, so
	// a later walk that reaches a link stops there.
	next := base
	for i := len(path) - 1; i >= 0; i-- {
		p := path[i]
		own, _ := r.ownValues(p)
		res := &chainResult{profiles: []*profileDoc{p}}
		var inherited map[string]any
		if next != nil {
			res.profiles = append(res.profiles, next.profiles...)
			res.template, res.clusterClass = next.template, next.clusterClass
			inherited = next.values
		}
		if p.object.Spec.Template != nil || p.object.Spec.ClusterClass != nil {
			// The nearest profile naming either decides both: mixing a child's template with
			// an ancestor's ClusterClass would describe no real cluster.
			res.template, res.clusterClass = p.object.Spec.Template, p.object.Spec.ClusterClass
		}
		res.values = mergeValues(inherited, own)
		r.chains[p] = res
		next = res
	}
	return r.chains[start]
}

// ownValues decodes a profile's own values once, reporting a bad tree at the profile.
func (r *resolver) ownValues(p *profileDoc) (map[string]any, bool) {
	if !p.decoded {
		p.decoded = true
		values, err := decodeValues(p.object.Spec.Values)
		if err != nil {
			p.failed = true
			r.sink.add(p.ref.errorAt("spec.values", "%v", err))
		}
		p.values = values
	}
	return p.values, !p.failed
}

// resolved is the chain as a plan carries it: the plan's own copy of values and template.
func (c *chainResult) resolved(values map[string]any) ResolvedProfile {
	keys := make([]ProfileKey, len(c.profiles))
	for i, p := range c.profiles {
		keys[i] = p.key
	}
	return ResolvedProfile{
		Key:          keys[0],
		Chain:        keys,
		Template:     c.template.DeepCopy(),
		ClusterClass: c.clusterClass.DeepCopy(),
		Values:       values,
	}
}

// layers are the chain's own values as sources, child first.
func (c *chainResult) layers() layers {
	out := make(layers, 0, len(c.profiles))
	for _, p := range c.profiles {
		if len(p.values) > 0 {
			out = append(out, layer{values: p.values, doc: p.ref, field: "spec.values"})
		}
	}
	return out
}

// chainText reads "a@1.0.0 -> b@1.0.0".
func chainText(path []*profileDoc) string {
	parts := make([]string, len(path))
	for i, p := range path {
		parts[i] = revisionText(p)
	}
	return strings.Join(parts, " -> ")
}

func chainTextOf(c *chainResult) string { return chainText(c.profiles) }

func revisionText(p *profileDoc) string { return p.key.Name + "@" + p.key.Revision }

func refText(ref automationv1alpha1.ProfileReference) string { return ref.Name + "@" + ref.Revision }
