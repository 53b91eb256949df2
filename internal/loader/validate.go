package loader

import (
	"path"
	"strings"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
)

// The checks below mirror what the API server would refuse for each kind: required fields,
// enums, patterns, lengths, list keys and the CEL rules of the CRDs, so that `lkaas validate`
// catches it before a commit lands.

func (v validator) profile(p *automationv1alpha1.InfrastructureProfile) {
	s := p.Spec
	v.dottedName("spec.profileName", "profile name", s.ProfileName, 253)
	if dottedNamePattern.MatchString(s.ProfileName) {
		// a derived name is only worth checking when the profile name it comes from is valid
		v.metadata(p.Name, p.Namespace, p.Labels, p.Annotations)
	}
	typeOK := v.profileType("spec.type", s.Type)
	v.revision("spec.revision", s.Revision)
	if s.Parent != nil {
		v.reference("spec.parent", *s.Parent, "", "")
		if typeOK && s.Parent.Type != "" && s.Parent.Type != s.Type {
			v.at("spec.parent.type", "the parent profile must have the same type as the profile (%s), not %s", s.Type, s.Parent.Type)
		}
	}
	if s.Template != nil {
		if typeOK && s.Type != automationv1alpha1.InfrastructureProfileType {
			v.at("spec.template", "only an Infrastructure profile may name a cluster template (this one is %s)", s.Type)
		}
		v.template(s.Template)
	}
	if s.ClusterClass != nil {
		if typeOK && s.Type != automationv1alpha1.InfrastructureProfileType {
			v.at("spec.clusterClass", "only an Infrastructure profile may name a ClusterClass (this one is %s)", s.Type)
		}
		if s.Template != nil {
			v.at("spec.clusterClass", "a profile names a cluster template or a ClusterClass, not both")
		}
		if v.required("spec.clusterClass.name", s.ClusterClass.Name) {
			v.maxLength("spec.clusterClass.name", s.ClusterClass.Name, 253)
		}
		v.dnsLabel("spec.clusterClass.namespace", "namespace", s.ClusterClass.Namespace)
	}
}

func (v validator) template(t *automationv1alpha1.TemplateSource) {
	switch {
	case t.Path == "" && t.URL == "":
		v.at("spec.template", "a template names exactly one of path (inside the repository) or url")
	case t.Path != "" && t.URL != "":
		v.at("spec.template.url", "a template names exactly one of path or url, not both")
	}
	if t.URL != "" {
		v.url("spec.template.url", t.URL)
		v.maxLength("spec.template.url", t.URL, 2048)
		if t.Filename == "" {
			v.at("spec.template.filename", "a template url needs a filename, e.g. cluster-template.yaml")
		}
	}
	if t.Path != "" && v.maxLength("spec.template.path", t.Path, 1024) {
		clean := path.Clean(t.Path)
		if path.IsAbs(t.Path) || clean == ".." || strings.HasPrefix(clean, "../") {
			v.at("spec.template.path", "template path %q leaves the repository; give a path relative to the repository root, without ..", t.Path)
		}
	}
	v.maxLength("spec.template.version", t.Version, 128)
	v.maxLength("spec.template.filename", t.Filename, 253)
	if t.Digest != "" && !digestPattern.MatchString(t.Digest) {
		v.at("spec.template.digest", "invalid digest %q: write sha256:<64 lower-case hex digits>", t.Digest)
	}
}

// recipe checks a ClusterRecipe found at prefix ("spec" or "spec.clusters[i]").
func (v validator) recipe(prefix string, r automationv1alpha1.ClusterRecipe) {
	if in := r.Infrastructure; in != nil {
		p := prefix + ".infrastructure"
		if v.required(p+".provider", in.Provider) && v.maxLength(p+".provider", in.Provider, 63) && !labelPattern.MatchString(in.Provider) {
			v.at(p+".provider", "invalid provider %q: must be %s, e.g. openstack or docker", in.Provider, labelRule)
		}
		v.reference(p+".profile", in.Profile, automationv1alpha1.InfrastructureProfileType,
			"an infrastructure recipe must reference a profile of type Infrastructure")
	}
	if n := r.Network; n != nil {
		p := prefix + ".network"
		v.addonName(p+".name", n.Name)
		v.reference(p+".profile", n.Profile, automationv1alpha1.NetworkProfileType,
			"a network recipe must reference a profile of type Network")
	}
	if len(r.Software) > 64 {
		v.at(prefix+".software", "has %d add-ons; at most 64 are allowed", len(r.Software))
	}
	seen := map[string]int{}
	for i, s := range r.Software {
		p := itemPath(prefix+".software", i)
		v.addonName(p+".name", s.Name)
		if first, dup := seen[s.Name]; dup && s.Name != "" {
			v.at(p+".name", "duplicate add-on name %q (also at line %d); names of software add-ons must be unique", s.Name, v.origin.Field(itemPath(prefix+".software", first)).Line)
		} else {
			seen[s.Name] = i
		}
		v.reference(p+".profile", s.Profile, automationv1alpha1.SoftwareProfileType,
			"software add-ons must reference profiles of type Software")
	}
}

func (v validator) addonName(path, name string) {
	if !v.required(path, name) || !v.maxLength(path, name, 63) {
		return
	}
	if !dottedNamePattern.MatchString(name) {
		v.at(path, "invalid add-on name %q: use a-z, 0-9, '-' and '.', starting and ending with a letter or digit", name)
	}
}

func (v validator) catalog(c *automationv1alpha1.ClusterCatalog) {
	v.metadata(c.Name, c.Namespace, c.Labels, c.Annotations)
	if c.Spec.Infrastructure == nil {
		v.at("spec", "a catalog needs spec.infrastructure")
	}
	v.recipe("spec", c.Spec.ClusterRecipe)
	v.maxLength("spec.description", c.Spec.Description, 1024)
}

func (v validator) cluster(c *automationv1alpha1.Cluster) {
	v.metadata(c.Name, c.Namespace, c.Labels, c.Annotations)
	v.dnsLabel("spec.tenant", "tenant", c.Spec.Tenant)
	if c.Spec.ClusterCatalog == "" && c.Spec.Infrastructure == nil && c.Spec.Existing == nil {
		v.at("spec", "a cluster needs spec.clusterCatalog, spec.infrastructure or spec.existing")
	}
	v.existing("spec", c.Name, c.Spec.Existing, c.Spec.ClusterCatalog, c.Spec.ClusterRecipe, c.Spec.Override)
	if c.Spec.ClusterCatalog != "" {
		if msg := objectNameProblem(c.Spec.ClusterCatalog); msg != "" {
			v.at("spec.clusterCatalog", "%s", msg)
		}
	}
	v.recipe("spec", c.Spec.ClusterRecipe)
}

// existing checks an existing cluster (spec.existing, or a member's existing) at prefix: it
// takes its own network and software add-ons but no catalog, infrastructure or override,
// since L-KaaS builds nothing for it, and its kubeconfig Secret has CAPI's name.
func (v validator) existing(prefix, name string, e *automationv1alpha1.ExistingCluster, catalog string,
	r automationv1alpha1.ClusterRecipe, override *automationv1alpha1.Values) {
	if e == nil {
		return
	}
	p := prefix + ".existing"
	var beside []string
	for _, f := range []struct {
		field string
		set   bool
	}{{"clusterCatalog", catalog != ""}, {"infrastructure", r.Infrastructure != nil}, {"override", override != nil}} {
		if f.set {
			beside = append(beside, f.field)
		}
	}
	if len(beside) > 0 {
		v.at(p, "an existing cluster takes no %s: L-KaaS builds nothing for it (only network and software add-ons may stand beside existing); remove %s or existing",
			strings.Join(beside, ", "), strings.Join(beside, ", "))
	}
	if want := automationv1alpha1.KubeconfigSecretFor(name); e.KubeconfigSecret != "" && name != "" && e.KubeconfigSecret != want {
		v.at(p+".kubeconfigSecret", "kubeconfig Secret %q must be named %q: CAPI's add-on providers and EMCO registration read a cluster's kubeconfig under that name, and L-KaaS never copies a kubeconfig", e.KubeconfigSecret, want)
	}
	if e.KubernetesVersion != "" && !kubernetesVersionPattern.MatchString(e.KubernetesVersion) {
		v.at(p+".kubernetesVersion", "invalid Kubernetes version %q: expected v<major>.<minor>.<patch>, like v1.31.0", e.KubernetesVersion)
	}
}

func (v validator) logicalCluster(l *intentv1.LogicalCluster) {
	v.metadata(l.Name, l.Namespace, l.Labels, l.Annotations)
	s := l.Spec
	v.dnsLabel("spec.tenant", "tenant", s.Tenant)
	switch {
	case len(s.Clusters) == 0:
		v.at("spec.clusters", "a logical cluster needs at least one member")
	case len(s.Clusters) > 500:
		v.at("spec.clusters", "has %d members; at most 500 are allowed", len(s.Clusters))
	}
	seen := map[string]int{}
	for i, m := range s.Clusters {
		p := itemPath("spec.clusters", i)
		if v.required(p+".name", m.Name) {
			v.dnsLabel(p+".name", "member name", m.Name)
			if first, dup := seen[m.Name]; dup {
				v.at(p+".name", "duplicate member %q (also at line %d); member names must be unique", m.Name, v.origin.Field(itemPath("spec.clusters", first)).Line)
			} else {
				seen[m.Name] = i
			}
		}
		v.labels(p+".labels", m.Labels)
		if m.ClusterCatalog == "" && m.Infrastructure == nil && m.Existing == nil {
			v.at(p, "a member needs clusterCatalog, infrastructure or existing")
		}
		v.existing(p, m.Name, m.Existing, m.ClusterCatalog, m.ClusterRecipe, m.Override)
		if m.ClusterCatalog != "" {
			if msg := objectNameProblem(m.ClusterCatalog); msg != "" {
				v.at(p+".clusterCatalog", "%s", msg)
			}
		}
		if m.Wave < 0 || m.Wave > 100 {
			v.at(p+".wave", "wave %d is out of range; use 0 to 100", m.Wave)
		}
		v.recipe(p, m.ClusterRecipe)
	}
	if r := s.Rollout; r != nil && r.MaxUnavailable != nil {
		mu := r.MaxUnavailable
		if (mu.Type == 0 && mu.IntVal < 1) || (mu.Type == 1 && !percentPattern.MatchString(mu.StrVal)) {
			v.at("spec.rollout.maxUnavailable", "maxUnavailable is a count of at least 1 or a percentage from 1%% to 100%%, not %s", mu.String())
		}
	}
	if lc := s.LogicalCloud; lc != nil {
		switch lc.Level {
		case "", "0":
		case "1":
			if lc.Namespace == "" || lc.User == "" {
				v.at("spec.logicalCloud", "a level 1 logical cloud needs namespace and user")
			}
		default:
			v.at("spec.logicalCloud.level", "invalid level %q; accepted: \"0\", \"1\"", lc.Level)
		}
		v.dnsLabel("spec.logicalCloud.namespace", "namespace", lc.Namespace)
		v.maxLength("spec.logicalCloud.user", lc.User, 128)
	}
}
