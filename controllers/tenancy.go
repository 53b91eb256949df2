package controllers

import (
	"path"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/internal/loader"
	"github.com/dcn-ssu/lkaas/internal/render"
	"github.com/dcn-ssu/lkaas/internal/tenancy"
)

// restScope answers the tenancy check's "is this kind cluster-scoped?" from the API server's
// discovery; a kind it does not know falls back to the built-in list.
func restScope(m meta.RESTMapper) tenancy.ScopeFunc {
	if m == nil {
		return nil
	}
	return func(gk schema.GroupKind) (bool, bool) {
		mapping, err := m.RESTMapping(gk)
		if err != nil {
			return false, false
		}
		return mapping.Scope.Name() == meta.RESTScopeNameRoot, true
	}
}

// extraAllowedKinds are the kinds the Fleet's owner added to what its templates may produce.
func extraAllowedKinds(fleet *automationv1alpha1.Fleet) []schema.GroupKind {
	if fleet == nil {
		return nil
	}
	return tenancy.ParseKinds(fleet.Spec.ExtraAllowedKinds)
}

// checkTemplates applies the tenancy rules to every template file the revision's own profiles
// name, before anything is applied: a template that would make a tenant's clusters write a
// forbidden kind rejects the whole revision, at the document in the template. files are the
// repository files the revision publishes, read safely from the artifact.
func (r *FleetReconciler) checkTemplates(fleet *automationv1alpha1.Fleet, set *loader.Set, files map[string][]byte) error {
	var problems loader.ErrorList
	seen := map[string]bool{}
	for _, d := range set.Profiles {
		t := d.Object.Spec.Template
		if t == nil || t.Path == "" || seen[path.Clean(t.Path)] {
			continue
		}
		seen[path.Clean(t.Path)] = true
		raw, ok := files[path.Clean(t.Path)]
		if !ok {
			continue // not published: the render reports the missing file
		}
		problems = append(problems, render.CheckTemplate(path.Clean(t.Path), raw, fleet.Namespace, extraAllowedKinds(fleet), restScope(r.RESTMapper()))...)
	}
	problems.Sort()
	if len(problems) == 0 {
		return nil
	}
	return problems
}
