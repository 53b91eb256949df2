package loader

import (
	"strings"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
)

func (v validator) fleet(f *automationv1alpha1.Fleet) {
	v.metadata(f.Name, f.Namespace, f.Labels, f.Annotations)
	s := f.Spec
	v.oneOf("spec.sourceRef.kind", s.SourceRef.Kind, "GitRepository", "OCIRepository", "Bucket")
	if v.required("spec.sourceRef.name", s.SourceRef.Name) {
		v.maxLength("spec.sourceRef.name", s.SourceRef.Name, 253)
	}
	v.dnsLabel("spec.sourceRef.namespace", "namespace", s.SourceRef.Namespace)
	if strings.Contains(s.Path, "..") {
		v.at("spec.path", "path must stay inside the artifact (no '..')")
	}
	v.maxLength("spec.path", s.Path, 1024)
	if !v.has("spec.interval") {
		v.at("spec.interval", "is required, e.g. 5m")
	}
	if g := s.DeletionGuard; g != nil && (g.MaxClusterDeletionPercent < 0 || g.MaxClusterDeletionPercent > 100) {
		v.at("spec.deletionGuard.maxClusterDeletionPercent", "%d is out of range; use 0 to 100", g.MaxClusterDeletionPercent)
	}
	v.uniqueNames("spec.sharedProfileNamespaces", s.SharedProfileNamespaces, 32)
	for i, ns := range s.SharedProfileNamespaces {
		v.dnsLabel(itemPath("spec.sharedProfileNamespaces", i), "namespace", ns)
	}
	if len(s.VariablesFrom) > 32 {
		v.at("spec.variablesFrom", "has %d entries; at most 32 are allowed", len(s.VariablesFrom))
	}
	for i, ref := range s.VariablesFrom {
		p := itemPath("spec.variablesFrom", i)
		v.oneOf(p+".kind", ref.Kind, "Secret", "ConfigMap")
		if v.required(p+".name", ref.Name) {
			v.maxLength(p+".name", ref.Name, 253)
		}
	}
	if s.EMCO != nil {
		v.emco(s.EMCO)
	}
	if w := s.WriteBack; w != nil {
		v.localRef("spec.writeBack.secretRef", w.SecretRef)
		v.localRef("spec.writeBack.signingKeySecretRef", w.SigningKeySecretRef)
		v.maxLength("spec.writeBack.branch", w.Branch, 255)
		v.maxLength("spec.writeBack.path", w.Path, 1024)
		v.maxLength("spec.writeBack.messageTemplate", w.MessageTemplate, 4096)
		if a := w.Author; a != nil {
			v.required("spec.writeBack.author.name", a.Name)
			if len(a.Email) < 3 {
				v.at("spec.writeBack.author.email", "is required: an e-mail address of at least 3 characters")
			}
		}
	}
}

func (v validator) emco(e *automationv1alpha1.EMCOSettings) {
	switch {
	case len(e.Endpoints) == 0:
		v.at("spec.emco.endpoints", "at least one EMCO endpoint is required")
	case len(e.Endpoints) > 16:
		v.at("spec.emco.endpoints", "has %d endpoints; at most 16 are allowed", len(e.Endpoints))
	}
	names := make([]string, len(e.Endpoints))
	for i, ep := range e.Endpoints {
		p := itemPath("spec.emco.endpoints", i)
		names[i] = ep.Name
		if v.required(p+".name", ep.Name) {
			v.dnsLabel(p+".name", "endpoint name", ep.Name)
		}
		v.url(p+".url", ep.URL)
		v.url(p+".orchestratorURL", ep.OrchestratorURL)
		v.url(p+".clmURL", ep.ClmURL)
		v.url(p+".dcmURL", ep.DcmURL)
		if ep.URL == "" && (ep.OrchestratorURL == "" || ep.ClmURL == "" || ep.DcmURL == "") {
			v.at(p, "an endpoint needs url, or orchestratorURL, clmURL and dcmURL")
		}
		v.maxLength(p+".project", ep.Project, 128)
		v.localRef(p+".secretRef", ep.SecretRef)
	}
	v.uniqueNames("spec.emco.endpoints", names, 16)
	if e.DefaultEndpoint != "" {
		found := false
		for _, n := range names {
			found = found || n == e.DefaultEndpoint
		}
		if !found {
			v.at("spec.emco.defaultEndpoint", "defaultEndpoint %q must name one of spec.emco.endpoints: %s", e.DefaultEndpoint, strings.Join(names, ", "))
		}
	}
}

func (v validator) localRef(path string, ref *automationv1alpha1.LocalObjectReference) {
	if ref != nil && v.required(path+".name", ref.Name) {
		v.maxLength(path+".name", ref.Name, 253)
	}
}

// oneOf checks a required enum value.
func (v validator) oneOf(path, value string, accepted ...string) {
	if !v.required(path, value) {
		return
	}
	for _, a := range accepted {
		if value == a {
			return
		}
	}
	v.at(path, "invalid value %q; accepted: %s", value, strings.Join(accepted, ", "))
}

// uniqueNames checks a list that the CRD keys by value (a set) or by name.
func (v validator) uniqueNames(path string, names []string, limit int) {
	if len(names) > limit {
		v.at(path, "has %d entries; at most %d are allowed", len(names), limit)
	}
	seen := map[string]bool{}
	for i, n := range names {
		if n != "" && seen[n] {
			v.at(itemPath(path, i), "%q is listed twice", n)
		}
		seen[n] = true
	}
}
