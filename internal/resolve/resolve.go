package resolve

import (
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/types"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/internal/loader"
)

// DefaultSharedProfileNamespaces is where the seed keeps the administrators' profiles. A
// function, not a variable, so no caller can change it for everyone.
func DefaultSharedProfileNamespaces() []string { return []string{"default"} }

// Options shape a resolution.
type Options struct {
	// SharedProfileNamespaces may be referenced from any namespace, searched in this order
	// after the referrer's own. Nil means DefaultSharedProfileNamespaces(); an empty, non-nil
	// list means none.
	SharedProfileNamespaces []string

	// Only, when not empty, resolves just these clusters (standalone Clusters or
	// logical-cluster members) and reports only their problems: a controller reconciling one
	// cluster, or a one-cluster change, pays for that cluster and not the whole set.
	Only []types.NamespacedName
}

// Resolve turns a loaded set into one plan per cluster, sorted by namespace and name. The
// error, when not nil, is a loader.ErrorList of every problem found, each at the document and
// field to change; the plans of the clusters that did resolve are returned alongside it.
// Without Options.Only, profiles and catalogs no cluster uses are checked too.
func Resolve(set *loader.Set, opts Options) ([]*Plan, error) {
	r := newResolver(set, opts)
	all, clashes := targets(set)
	selected := all
	if len(opts.Only) > 0 {
		selected = r.selectOnly(all, opts.Only)
	}
	for _, c := range clashes {
		if len(opts.Only) == 0 || slices.Contains(opts.Only, c.name) {
			r.sink.add(c.err)
		}
	}
	plans := make([]*Plan, 0, len(selected))
	for _, t := range selected {
		if plan := r.resolveCluster(t); plan != nil {
			plans = append(plans, plan)
		}
	}
	if len(opts.Only) == 0 {
		r.checkUnused()
	}

	slices.SortFunc(plans, func(a, b *Plan) int {
		if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	r.sink.list.Sort()
	return plans, r.sink.list.Err()
}

// resolver holds one resolution's indexes and memos; it lives for a single Resolve call.
type resolver struct {
	shared   []string
	profiles *profileIndex
	catalogs map[types.NamespacedName]*catalogDoc
	sink     errorSink

	chains   map[*profileDoc]*chainResult
	lookups  map[lookupKey]lookupResult
	matchers map[string]revisionMatcher
	decoded  map[*automationv1alpha1.Values]decodedValues
}

type catalogDoc struct {
	object *automationv1alpha1.ClusterCatalog
	ref    docRef
}

func newResolver(set *loader.Set, opts Options) *resolver {
	r := &resolver{
		shared:   opts.SharedProfileNamespaces,
		catalogs: make(map[types.NamespacedName]*catalogDoc, len(set.Catalogs)),
		chains:   map[*profileDoc]*chainResult{},
		lookups:  map[lookupKey]lookupResult{},
		matchers: map[string]revisionMatcher{},
		decoded:  map[*automationv1alpha1.Values]decodedValues{},
	}
	if r.shared == nil {
		r.shared = DefaultSharedProfileNamespaces()
	}
	r.profiles = newProfileIndex(set.Profiles, &r.sink)
	for _, d := range set.Catalogs {
		c := d.Object
		ref := docRef{Kind: automationv1alpha1.ClusterCatalogKind, Name: c.Name, Origin: d.Origin}
		key := types.NamespacedName{Namespace: c.Namespace, Name: c.Name}
		if first, dup := r.catalogs[key]; dup {
			r.sink.add(ref.errorAt("metadata.name", "ClusterCatalog %s is already defined at %s", key, first.ref.Origin.Pos))
			continue
		}
		r.catalogs[key] = &catalogDoc{object: c, ref: ref}
	}
	return r
}

// selectOnly keeps the wanted targets and reports the wanted names that match none.
func (r *resolver) selectOnly(all []*target, only []types.NamespacedName) []*target {
	var kept []*target
	for _, want := range only {
		i := slices.IndexFunc(all, func(t *target) bool { return t.name == want })
		if i < 0 {
			r.sink.add(&loader.Error{Message: "no Cluster or logical-cluster member named " + want.String()})
			continue
		}
		if !slices.Contains(kept, all[i]) {
			kept = append(kept, all[i])
		}
	}
	return kept
}

// checkUnused reports problems in catalogs and profiles that no cluster uses (yet), so a
// repository is valid as a whole, not only where it is used today.
func (r *resolver) checkUnused() {
	keys := make([]types.NamespacedName, 0, len(r.catalogs))
	for k := range r.catalogs {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b types.NamespacedName) int { return strings.Compare(a.String(), b.String()) })
	for _, k := range keys {
		c := r.catalogs[k]
		recipe := &c.object.Spec.ClusterRecipe
		if recipe.Infrastructure != nil {
			r.resolvePart(slotInfrastructure, recipe.Infrastructure.Profile, c.ref, "spec.infrastructure", k.Namespace)
			r.decodeOnce(recipe.Infrastructure.Override, c.ref, "spec.infrastructure.override")
		}
		if recipe.Network != nil {
			r.resolvePart(slotNetwork, recipe.Network.Profile, c.ref, "spec.network", k.Namespace)
			r.decodeOnce(recipe.Network.Override, c.ref, "spec.network.override")
		}
		for j := range recipe.Software {
			field := softwareField("spec.", j)
			r.resolvePart(slotSoftware, recipe.Software[j].Profile, c.ref, field, k.Namespace)
			r.decodeOnce(recipe.Software[j].Override, c.ref, field+".override")
		}
	}
	for _, p := range r.profiles.all {
		r.chain(p)
	}
}
