package resolve

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/types"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/internal/loader"
)

// slot is a place in a recipe; each takes profiles of one type.
type slot int

const (
	slotInfrastructure slot = iota
	slotNetwork
	slotSoftware
)

func (s slot) profileType() automationv1alpha1.ProfileType {
	switch s {
	case slotNetwork:
		return automationv1alpha1.NetworkProfileType
	case slotSoftware:
		return automationv1alpha1.SoftwareProfileType
	default:
		return automationv1alpha1.InfrastructureProfileType
	}
}

func (s slot) String() string {
	switch s {
	case slotNetwork:
		return "a network add-on"
	case slotSoftware:
		return "a software add-on"
	default:
		return "the infrastructure"
	}
}

// withArticle reads "an Infrastructure", "a Network".
func withArticle(t automationv1alpha1.ProfileType) string {
	if t == automationv1alpha1.InfrastructureProfileType {
		return "an " + string(t)
	}
	return "a " + string(t)
}

// part is a recipe part as the cluster takes it: its own, or its catalog's.
type part struct {
	doc   docRef
	field string // canonical path of the part in doc, e.g. "spec.network"
	// shared parts (a catalog's) are decoded once for all the clusters that take them.
	shared bool
}

// resolvePart finds the profile revision a recipe part names and its chain, reporting a
// problem at the part; nil means the part does not resolve.
func (r *resolver) resolvePart(s slot, ref automationv1alpha1.ProfileReference, doc docRef, field, namespace string) *chainResult {
	if ref.Type != s.profileType() {
		r.sink.add(doc.errorAt(field+".profile.type", "%s needs %s profile, not %q", s, withArticle(s.profileType()), ref.Type))
		return nil
	}
	p, problem := r.lookup(ref, namespace)
	if p == nil {
		r.sink.add(doc.errorAt(field+".profile", "%s", problem))
		return nil
	}
	if c := r.chain(p); !c.failed {
		return c
	}
	return nil
}

// overrides decodes a part's override field.
func (r *resolver) overrides(v *automationv1alpha1.Values, p part, field string) (map[string]any, bool) {
	if p.shared {
		return r.decodeOnce(v, p.doc, field)
	}
	values, err := decodeValues(v)
	if err != nil {
		r.sink.add(p.doc.errorAt(field, "%v", err))
		return nil, false
	}
	return values, true
}

// resolveCluster builds the plan of one cluster, or reports why there is none.
func (r *resolver) resolveCluster(t *target) *Plan {
	c := t.object()
	spec := &c.Spec
	own := part{doc: t.doc, field: strings.TrimSuffix(t.prefix(), ".")}
	if spec.Existing != nil {
		return r.existingPlan(c, t, own)
	}

	var catalog *catalogDoc
	if spec.ClusterCatalog != "" {
		catalog = r.catalogs[types.NamespacedName{Namespace: c.Namespace, Name: spec.ClusterCatalog}]
		if catalog == nil {
			r.sink.add(t.doc.errorAt(t.prefix()+"clusterCatalog", "ClusterCatalog %q not found in namespace %s%s",
				spec.ClusterCatalog, c.Namespace, r.catalogsIn(c.Namespace)))
			return nil
		}
	}
	fromCatalog := part{shared: true}
	var recipe automationv1alpha1.ClusterRecipe
	if catalog != nil {
		recipe = catalog.object.Spec.ClusterRecipe
		fromCatalog.doc, fromCatalog.field = catalog.ref, "spec"
	}
	// An inline part replaces the catalog's part whole.
	infraPart, netPart, softPart := fromCatalog, fromCatalog, fromCatalog
	if spec.Infrastructure != nil {
		recipe.Infrastructure, infraPart = spec.Infrastructure, own
	}
	if spec.Network != nil {
		recipe.Network, netPart = spec.Network, own
	}
	if spec.Software != nil {
		recipe.Software, softPart = spec.Software, own
	}

	plan := &Plan{
		Namespace:      c.Namespace,
		Name:           c.Name,
		LogicalCluster: t.logicalCluster(),
		Tenant:         spec.Tenant,
		Labels:         maps.Clone(c.Labels),
		ClusterCatalog: spec.ClusterCatalog,
		Origin:         t.doc.Origin,
		OriginField:    t.originField(),
	}
	ok := true

	var infraLayers layers
	if recipe.Infrastructure == nil {
		r.sink.add(t.doc.errorAt(t.prefix()+"infrastructure",
			"no infrastructure: give %sinfrastructure or a clusterCatalog that has one", t.prefix()))
		ok = false
	} else {
		infraLayers, ok = r.infrastructure(plan, recipe.Infrastructure, infraPart, t, spec.Override, c.Namespace)
	}

	var netLayers layers
	if recipe.Network != nil {
		field := netPart.field + ".network"
		addon, l, addonOK := r.addon(slotNetwork, recipe.Network, netPart, field, c.Namespace)
		plan.Network, netLayers, ok = addon, l, ok && addonOK
	}

	seen := map[string]bool{}
	for j := range recipe.Software {
		field := softwareField(softPart.field+".", j)
		name := recipe.Software[j].Name
		if seen[name] {
			r.sink.add(softPart.doc.errorAt(field+".name", "software add-on %q is listed twice", name))
			ok = false
			continue
		}
		seen[name] = true
		addon, _, addonOK := r.addon(slotSoftware, &recipe.Software[j], softPart, field, c.Namespace)
		if addonOK {
			plan.Software = append(plan.Software, *addon)
		}
		ok = ok && addonOK
	}

	if !ok {
		return nil
	}
	missingVersion := func() *loader.Error {
		return t.doc.errorAt(t.prefix()+"override",
			"kubernetesVersion is not set by the Infrastructure profile chain %s nor by an override; set it in %soverride",
			chainText(r.docsOf(plan.Infrastructure.Chain)), t.prefix())
	}
	errs := wellKnown(plan, infraLayers, netLayers, missingVersion)
	for _, e := range errs {
		r.sink.add(e)
	}
	if len(errs) > 0 {
		return nil
	}
	return plan
}

// existingPlan is the plan of a cluster built by other means: no infrastructure to resolve,
// only its own network and software add-ons, if any (the loader has refused a catalog, an
// infrastructure or an override beside spec.existing).
func (r *resolver) existingPlan(c *automationv1alpha1.Cluster, t *target, own part) *Plan {
	secret := c.Spec.Existing.KubeconfigSecret
	if secret == "" {
		secret = automationv1alpha1.KubeconfigSecretFor(c.Name)
	}
	plan := &Plan{
		Namespace:      c.Namespace,
		Name:           c.Name,
		LogicalCluster: t.logicalCluster(),
		Tenant:         c.Spec.Tenant,
		Labels:         maps.Clone(c.Labels),
		Existing:       &ExistingPlan{KubeconfigSecret: secret, KubernetesVersion: c.Spec.Existing.KubernetesVersion},
		Origin:         t.doc.Origin,
		OriginField:    t.originField(),
	}
	ok := true
	if c.Spec.Network != nil {
		addon, _, addonOK := r.addon(slotNetwork, c.Spec.Network, own, own.field+".network", c.Namespace)
		plan.Network, ok = addon, addonOK
	}
	seen := map[string]bool{}
	for j := range c.Spec.Software {
		field := softwareField(own.field+".", j)
		name := c.Spec.Software[j].Name
		if seen[name] {
			r.sink.add(own.doc.errorAt(field+".name", "software add-on %q is listed twice", name))
			ok = false
			continue
		}
		seen[name] = true
		addon, _, addonOK := r.addon(slotSoftware, &c.Spec.Software[j], own, field, c.Namespace)
		if addonOK {
			plan.Software = append(plan.Software, *addon)
		}
		ok = ok && addonOK
	}
	if !ok {
		return nil
	}
	return plan
}

// infrastructure resolves the infrastructure part into the plan and returns the layers its
// values came from, highest precedence first.
func (r *resolver) infrastructure(plan *Plan, recipe *automationv1alpha1.InfrastructureRecipe, p part, t *target,
	clusterOverride *automationv1alpha1.Values, namespace string) (layers, bool) {
	field := p.field + ".infrastructure"
	chain := r.resolvePart(slotInfrastructure, recipe.Profile, p.doc, field, namespace)
	recipeValues, recipeOK := r.overrides(recipe.Override, p, field+".override")
	clusterValues, clusterOK := r.overrides(clusterOverride, part{doc: t.doc}, t.prefix()+"override")
	if chain == nil || !recipeOK || !clusterOK {
		return nil, false
	}
	if chain.template == nil && chain.clusterClass == nil {
		r.sink.add(p.doc.errorAt(field+".profile",
			"Infrastructure profile chain %s names no template and no ClusterClass; one of its profiles needs spec.template or spec.clusterClass",
			chainTextOf(chain)))
		return nil, false
	}
	values := mergeValues(chain.values, recipeValues)
	mergeInto(values, clusterValues) // the cluster's own override wins over the catalog's
	plan.Provider = recipe.Provider
	plan.Infrastructure = chain.resolved(values)
	return append(layers{
		{values: clusterValues, doc: t.doc, field: t.prefix() + "override"},
		{values: recipeValues, doc: p.doc, field: field + ".override"},
	}, chain.layers()...), true
}

// addon resolves a network or software add-on and returns the layers its values came from.
func (r *resolver) addon(s slot, recipe *automationv1alpha1.AddonRecipe, p part, field, namespace string) (*Addon, layers, bool) {
	chain := r.resolvePart(s, recipe.Profile, p.doc, field, namespace)
	override, overrideOK := r.overrides(recipe.Override, p, field+".override")
	if chain == nil || !overrideOK {
		return nil, nil, false
	}
	addon := &Addon{Name: recipe.Name, Profile: chain.resolved(mergeValues(chain.values, override))}
	return addon, append(layers{{values: override, doc: p.doc, field: field + ".override"}}, chain.layers()...), true
}

// docsOf finds the documents of a resolved chain again, for messages.
func (r *resolver) docsOf(chain []ProfileKey) []*profileDoc {
	var out []*profileDoc
	for _, k := range chain {
		for _, d := range r.profiles.revisions[profileIdentity{k.Namespace, k.Name, k.Type}] {
			if d.key == k {
				out = append(out, d)
			}
		}
	}
	return out
}

// catalogsIn lists a namespace's catalogs for a "not found" message.
func (r *resolver) catalogsIn(namespace string) string {
	var names []string
	for k := range r.catalogs {
		if k.Namespace == namespace {
			names = append(names, k.Name)
		}
	}
	if len(names) == 0 {
		return ""
	}
	slices.Sort(names)
	return fmt.Sprintf(" (catalogs there: %s)", strings.Join(names, ", "))
}

func softwareField(prefix string, j int) string {
	return fmt.Sprintf("%ssoftware[%d]", prefix, j)
}
