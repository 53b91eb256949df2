package loader

import (
	"regexp"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"
	"k8s.io/apimachinery/pkg/api/validate/content"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
)

// Patterns of the CRDs (see the +kubebuilder:validation:Pattern markers of the API types).
var (
	revisionPattern          = regexp.MustCompile(`^v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)
	dottedNamePattern        = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)
	labelPattern             = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	urlPattern               = regexp.MustCompile(`^https?://`)
	digestPattern            = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)
	percentPattern           = regexp.MustCompile(`^[1-9][0-9]?%$|^100%$`)
	kubernetesVersionPattern = regexp.MustCompile(`^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)
)

var profileTypes = []automationv1alpha1.ProfileType{
	automationv1alpha1.InfrastructureProfileType,
	automationv1alpha1.NetworkProfileType,
	automationv1alpha1.SoftwareProfileType,
}

// validator checks one decoded document; every check reports at the canonical path, which the
// origin maps back to the line the user wrote.
type validator struct{ *docErrors }

func (v validator) has(path string) bool {
	_, ok := v.origin.Fields[path]
	return ok
}

// required reports an empty required string; it returns false when it reported.
func (v validator) required(path, value string) bool {
	if value == "" {
		v.at(path, "is required")
		return false
	}
	return true
}

func (v validator) maxLength(path, value string, limit int) bool {
	if len(value) > limit {
		v.at(path, "is %d characters long; at most %d are allowed", len(value), limit)
		return false
	}
	return true
}

func (v validator) objectName(path, name string) {
	if v.required(path, name) {
		if msg := objectNameProblem(name); msg != "" {
			v.at(path, "%s", msg)
		}
	}
}

// dnsLabel checks an optional value that must be a DNS-1123 label.
func (v validator) dnsLabel(path, what, value string) {
	if value == "" {
		return
	}
	if msg := labelNameProblem(what, value); msg != "" {
		v.at(path, "%s", msg)
	}
}

func (v validator) dottedName(path, what, value string, limit int) {
	if !v.required(path, value) || !v.maxLength(path, value, limit) {
		return
	}
	if !dottedNamePattern.MatchString(value) {
		msg := sprintf("invalid %s %q: use a-z, 0-9, '-' and '.', starting and ending with a letter or digit", what, value)
		if s := suggestName(value); s != "" && dottedNamePattern.MatchString(s) {
			msg += sprintf(", such as %q", s)
		}
		v.at(path, "%s", msg)
	}
}

func (v validator) profileType(path string, t automationv1alpha1.ProfileType) bool {
	if !v.required(path, string(t)) {
		return false
	}
	for _, ok := range profileTypes {
		if t == ok {
			return true
		}
	}
	v.at(path, "invalid profile type %q; accepted: Infrastructure, Network, Software (ApplicationTemplate reads as Software)", t)
	return false
}

// revision checks a profile's own revision: an exact semantic version.
func (v validator) revision(path, rev string) {
	if !v.required(path, rev) || !v.maxLength(path, rev, 128) {
		return
	}
	if !revisionPattern.MatchString(rev) {
		v.at(path, "invalid revision %q: must be a semantic version such as 1.0.0", rev)
	}
}

// referenceRevision checks a reference's revision: an exact version or a semver range.
func (v validator) referenceRevision(path, rev string) {
	if !v.required(path, rev) || !v.maxLength(path, rev, 128) {
		return
	}
	if revisionPattern.MatchString(rev) {
		return
	}
	if _, err := semver.NewConstraint(rev); err != nil {
		v.at(path, "invalid revision %q: write a semantic version such as 1.0.0 or a range such as \">=1.0.0 <2.0.0\"", rev)
	}
}

// reference checks a profile reference; want is the type the CRD's CEL rule demands ("" for any).
func (v validator) reference(path string, ref automationv1alpha1.ProfileReference, want automationv1alpha1.ProfileType, rule string) {
	if v.required(path+".name", ref.Name) {
		v.maxLength(path+".name", ref.Name, 253)
	}
	if v.profileType(path+".type", ref.Type) && want != "" && ref.Type != want {
		v.at(path+".type", "%s (this one is %s)", rule, ref.Type)
	}
	v.referenceRevision(path+".revision", ref.Revision)
	if ref.Namespace != "" {
		v.dnsLabel(path+".namespace", "namespace", ref.Namespace)
	}
}

func (v validator) url(path, value string) {
	if value != "" && !urlPattern.MatchString(value) {
		v.at(path, "invalid URL %q: must start with http:// or https://", value)
	}
}

// metadata checks the object name, namespace, labels and annotations.
func (v validator) metadata(name, namespace string, labels, annotations map[string]string) {
	v.objectName("metadata.name", name)
	v.dnsLabel("metadata.namespace", "namespace", namespace)
	v.labels("metadata.labels", labels)
	for _, k := range sortedKeys(annotations) {
		if errs := content.IsLabelKey(k); len(errs) > 0 {
			v.at(childPath("metadata.annotations", k), "invalid annotation key %q: %s", k, strings.Join(errs, "; "))
		}
	}
}

// labels checks label keys and values as the API server does.
func (v validator) labels(path string, labels map[string]string) {
	for _, k := range sortedKeys(labels) {
		p := childPath(path, k)
		if errs := content.IsLabelKey(k); len(errs) > 0 {
			v.at(p, "invalid label key %q: %s", k, strings.Join(errs, "; "))
		}
		if errs := content.IsLabelValue(labels[k]); len(errs) > 0 {
			v.at(p, "invalid label value %q: %s", labels[k], strings.Join(errs, "; "))
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
