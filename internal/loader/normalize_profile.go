package loader

import (
	"strings"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
)

// ProfileLabel carries a profile object's profileName, so all revisions of a profile can be
// listed with one label selector.
const ProfileLabel = automationv1alpha1.LabelPrefix + "profile"

// profileSpecFields are the keys of a profile's canonical spec; any other key written directly
// under spec is a value.
var profileSpecFields = map[string]bool{
	"profileName": true, "type": true, "revision": true, "parent": true,
	"template": true, "clusterClass": true, "values": true,
}

// referenceFields are the keys of a profile reference; in the seed's spec.profile every other
// key is a value.
var referenceFields = map[string]bool{"name": true, "type": true, "revision": true, "namespace": true}

// templateFields are the keys of the seed's "Cluster API Profile", spec: {filename, url,
// version}, which name the profile's cluster template.
var templateFields = []string{"url", "filename", "version", "digest", "path"}

// normalizeProfile turns the seed's profile (metadata.type/revision, spec.profile as parent
// plus values, values directly under spec) into the canonical one, named after profile name,
// type and revision so that revisions coexist.
func normalizeProfile(d *docErrors, meta, spec *node) {
	moveAll(d, meta, spec, "type", "revision")
	nameNode := meta.get("name")
	seedShape := spec.get("profileName") == nil
	if seedShape && nameNode.isScalar() {
		spec.set("profileName", copyScalar(nameNode))
	}

	var values []*node // values found outside spec.values, keyed by their last path element
	var valueKeys []string
	if p := spec.take("profile"); p != nil {
		if p.isMap() {
			ref := newMap(p)
			for i, k := range p.keys {
				if referenceFields[k] {
					ref.set(k, p.vals[i])
				} else {
					valueKeys, values = append(valueKeys, k), append(values, p.vals[i])
				}
			}
			p = ref
		}
		if parent := spec.get("parent"); parent != nil {
			d.atNode(p, "spec.profile and spec.parent both name the parent profile (line %d); keep one", parent.at.Line)
		} else {
			spec.set("parent", p)
		}
	}

	if spec.get("template") == nil && (spec.get("url") != nil || spec.get("filename") != nil) {
		var anchor *node // the template stands where its first field was written
		for _, k := range templateFields {
			if v := spec.get(k); v != nil && (anchor == nil || v.at.Line < anchor.at.Line) {
				anchor = v
			}
		}
		tmpl := newMap(anchor)
		tmpl.path = "spec"
		for _, k := range templateFields {
			if v := spec.take(k); v != nil {
				tmpl.set(k, v)
			}
		}
		spec.set("template", tmpl)
	}

	for i := 0; i < len(spec.keys); i++ {
		if k := spec.keys[i]; !profileSpecFields[k] {
			valueKeys, values = append(valueKeys, k), append(values, spec.take(k))
			i--
		}
	}
	if len(values) > 0 {
		into := spec.get("values")
		if into == nil {
			into = newMap(values[0])
			into.path = "spec"
			spec.set("values", into)
		}
		if into.isMap() {
			for i, k := range valueKeys {
				moveInto(d, into, k, values[i])
			}
		}
	}

	canonicalType(spec.get("type"))
	if parent := spec.get("parent"); parent.isMap() {
		canonicalType(parent.get("type"))
	}

	profileName := spec.get("profileName")
	if seedShape && nameNode.isScalar() {
		typ, rev := spec.get("type"), spec.get("revision")
		if typ.isScalar() && rev.isScalar() && typ.str() != "" && rev.str() != "" {
			meta.set("name", newScalar(nameNode, profileObjectName(nameNode.value, typ.value, rev.value)))
		}
	}
	if profileName.isScalar() {
		labels := meta.get("labels")
		if labels == nil {
			labels = newMap(profileName)
			labels.path = "metadata.labels"
			meta.set("labels", labels)
		}
		if labels.isMap() {
			label := newScalar(profileName, profileName.value)
			if existing := labels.get(ProfileLabel); existing != nil && existing.str() != profileName.value {
				d.atNode(existing, "label %s is %q but the profile is named %q; remove the label or make them equal", ProfileLabel, existing.str(), profileName.value)
			} else if existing == nil {
				labels.set(ProfileLabel, label)
			}
		}
	}
}

// profileObjectName is the object name of one profile revision: "<name>-<type>-<revision>",
// lower case, with characters an object name cannot hold (the "+" of build metadata) as "-".
func profileObjectName(name, typ, revision string) string {
	s := strings.ToLower(name + "-" + typ + "-" + revision)
	return strings.Map(func(r rune) rune {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '-' || r == '.' {
			return r
		}
		return '-'
	}, s)
}
