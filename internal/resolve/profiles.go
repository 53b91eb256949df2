package resolve

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/internal/loader"
)

// String names the revision as "namespace/name@revision", for messages and logs.
func (k ProfileKey) String() string {
	return k.Namespace + "/" + k.Name + "@" + k.Revision
}

// profileDoc is one loaded profile revision with what the resolver derives from it once.
type profileDoc struct {
	object  *automationv1alpha1.InfrastructureProfile
	ref     docRef
	key     ProfileKey
	version *semver.Version
	// values are the profile's own values, decoded on first use (see ownValues).
	values  map[string]any
	decoded bool
	failed  bool
}

// profileIdentity is a profile across its revisions.
type profileIdentity struct {
	namespace, name string
	typ             automationv1alpha1.ProfileType
}

// profileIndex finds profile revisions by namespace, name and type.
type profileIndex struct {
	// revisions of each profile, highest first.
	revisions map[profileIdentity][]*profileDoc
	// typesByName lists the types a name has in a namespace, to explain a type mismatch.
	typesByName map[[2]string][]automationv1alpha1.ProfileType
	// all profiles in namespace/name order, for validating the unused ones too.
	all []*profileDoc
}

// exactRevision is a full version; anything else in a reference is read as a range.
var exactRevision = regexp.MustCompile(`^v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)

func newProfileIndex(docs []loader.Doc[*automationv1alpha1.InfrastructureProfile], sink *errorSink) *profileIndex {
	idx := &profileIndex{
		revisions:   map[profileIdentity][]*profileDoc{},
		typesByName: map[[2]string][]automationv1alpha1.ProfileType{},
	}
	for _, d := range docs {
		p := d.Object
		ref := docRef{Kind: automationv1alpha1.InfrastructureProfileKind, Name: p.Name, Origin: d.Origin}
		if !exactRevision.MatchString(p.Spec.Revision) {
			sink.add(ref.errorAt("spec.revision", "revision %q is not a semantic version such as 1.0.0", p.Spec.Revision))
			continue
		}
		version, err := semver.NewVersion(p.Spec.Revision)
		if err != nil {
			sink.add(ref.errorAt("spec.revision", "revision %q is not a semantic version such as 1.0.0", p.Spec.Revision))
			continue
		}
		pd := &profileDoc{
			object:  p,
			ref:     ref,
			key:     ProfileKey{Namespace: p.Namespace, Name: p.Spec.ProfileName, Type: p.Spec.Type, Revision: p.Spec.Revision},
			version: version,
		}
		id := profileIdentity{p.Namespace, p.Spec.ProfileName, p.Spec.Type}
		if dup := findRevision(idx.revisions[id], version); dup != nil {
			sink.add(ref.errorAt("spec.revision", "%s profile %q revision %s is already defined by %s/%s at %s",
				p.Spec.Type, p.Spec.ProfileName, p.Spec.Revision, dup.ref.Kind, dup.ref.Name, dup.ref.Origin.Pos))
			continue
		}
		idx.revisions[id] = append(idx.revisions[id], pd)
		nameKey := [2]string{p.Namespace, p.Spec.ProfileName}
		if !slices.Contains(idx.typesByName[nameKey], p.Spec.Type) {
			idx.typesByName[nameKey] = append(idx.typesByName[nameKey], p.Spec.Type)
		}
		idx.all = append(idx.all, pd)
	}
	for _, revs := range idx.revisions {
		slices.SortFunc(revs, func(a, b *profileDoc) int { return b.version.Compare(a.version) })
	}
	for _, types := range idx.typesByName {
		slices.Sort(types)
	}
	slices.SortFunc(idx.all, func(a, b *profileDoc) int {
		if c := strings.Compare(a.key.Namespace, b.key.Namespace); c != 0 {
			return c
		}
		return strings.Compare(a.object.Name, b.object.Name)
	})
	return idx
}

func findRevision(revs []*profileDoc, v *semver.Version) *profileDoc {
	for _, r := range revs {
		if r.version.Equal(v) {
			return r
		}
	}
	return nil
}

// revisionMatcher is a reference's revision, parsed once: an exact version or a range.
type revisionMatcher struct {
	exact *semver.Version
	rng   *semver.Constraints
	err   error
}

func parseRevision(s string) revisionMatcher {
	if exactRevision.MatchString(s) {
		v, err := semver.NewVersion(s)
		if err == nil {
			return revisionMatcher{exact: v}
		}
	}
	c, err := semver.NewConstraint(s)
	if err != nil || strings.TrimSpace(s) == "" {
		return revisionMatcher{err: fmt.Errorf(`revision %q is neither a version such as 1.0.0 nor a range such as ">=1.0.0 <2.0.0", "~1.2" or "^1"`, s)}
	}
	return revisionMatcher{rng: c}
}

func (m revisionMatcher) matches(v *semver.Version) bool {
	if m.exact != nil {
		return m.exact.Equal(v)
	}
	return m.rng.Check(v)
}

// lookupKey caches lookups: many clusters share a catalog and so the same references.
type lookupKey struct {
	ref       automationv1alpha1.ProfileReference
	namespace string
}

type lookupResult struct {
	profile *profileDoc
	problem string
}

// lookup finds the revision a reference picks for a referrer in namespace own, or says why
// there is none, in words fit for the user.
func (r *resolver) lookup(ref automationv1alpha1.ProfileReference, own string) (*profileDoc, string) {
	key := lookupKey{ref, own}
	if res, ok := r.lookups[key]; ok {
		return res.profile, res.problem
	}
	p, problem := r.lookupUncached(ref, own)
	r.lookups[key] = lookupResult{p, problem}
	return p, problem
}

func (r *resolver) lookupUncached(ref automationv1alpha1.ProfileReference, own string) (*profileDoc, string) {
	namespaces, problem := r.searchNamespaces(ref.Namespace, own)
	if problem != "" {
		return nil, problem
	}
	matcher, ok := r.matchers[ref.Revision]
	if !ok {
		matcher = parseRevision(ref.Revision)
		r.matchers[ref.Revision] = matcher
	}
	if matcher.err != nil {
		return nil, matcher.err.Error()
	}
	found := false
	for _, ns := range namespaces {
		revs := r.profiles.revisions[profileIdentity{ns, ref.Name, ref.Type}]
		found = found || len(revs) > 0
		for _, p := range revs { // highest first, so a range takes the highest match
			if matcher.matches(p.version) {
				return p, ""
			}
		}
	}
	where := strings.Join(namespaces, ", ")
	if !found {
		msg := fmt.Sprintf("%s profile %q not found in namespaces %s", ref.Type, ref.Name, where)
		if other := r.otherTypes(ref.Name, ref.Type, namespaces); other != "" {
			msg += fmt.Sprintf("; %q is a %s profile, not %s", ref.Name, other, ref.Type)
		}
		return nil, msg
	}
	wanted := "revision " + ref.Revision
	if matcher.rng != nil {
		wanted = fmt.Sprintf("revision matching %q", ref.Revision)
	}
	return nil, fmt.Sprintf("%s profile %q has no %s in namespaces %s (found %s)",
		ref.Type, ref.Name, wanted, where, r.revisionList(ref.Name, ref.Type, namespaces))
}

// searchNamespaces is where a reference may look, in order, or why it may not look there.
func (r *resolver) searchNamespaces(explicit, own string) ([]string, string) {
	if explicit != "" {
		if explicit == own || slices.Contains(r.shared, explicit) {
			return []string{explicit}, ""
		}
		allowed := append([]string{own}, r.shared...)
		return nil, fmt.Sprintf("namespace %q may not be used: profiles come from the referrer's namespace or a shared profile namespace (%s)",
			explicit, strings.Join(dedupe(allowed), ", "))
	}
	return dedupe(append([]string{own}, r.shared...)), ""
}

func (r *resolver) otherTypes(name string, typ automationv1alpha1.ProfileType, namespaces []string) string {
	var types []string
	for _, ns := range namespaces {
		for _, t := range r.profiles.typesByName[[2]string{ns, name}] {
			if t != typ && !slices.Contains(types, string(t)) {
				types = append(types, string(t))
			}
		}
	}
	return strings.Join(types, " and ")
}

// revisionList reads "1.0.0, 1.1.0 in default; 0.9.0 in starlab", in search order.
func (r *resolver) revisionList(name string, typ automationv1alpha1.ProfileType, namespaces []string) string {
	var parts []string
	for _, ns := range namespaces {
		revs := r.profiles.revisions[profileIdentity{ns, name, typ}]
		if len(revs) == 0 {
			continue
		}
		names := make([]string, len(revs))
		for i, p := range revs {
			names[len(revs)-1-i] = p.key.Revision // ascending reads better
		}
		parts = append(parts, strings.Join(names, ", ")+" in "+ns)
	}
	return strings.Join(parts, "; ")
}

func dedupe(list []string) []string {
	out := make([]string, 0, len(list))
	for _, s := range list {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
