package loader

import (
	"strings"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
)

// normalize rewrites a document, in place, from any shape the loader accepts (the seed deck's
// or the canonical one) into the canonical shape the CRDs store. It only moves what the user
// wrote; checking what ends up where is the schema's and the validator's job.
func normalize(d *docErrors, key kindKey, root *node) {
	meta, spec := root.get("metadata"), root.get("spec")
	if !meta.isMap() {
		return
	}
	if spec == nil {
		spec = newMap(root)
		spec.path = "spec"
		root.set("spec", spec)
	}
	if !spec.isMap() {
		return
	}
	switch key {
	case profileKey:
		normalizeProfile(d, meta, spec)
	case catalogKey:
		normalizeRecipe(d, spec)
	case clusterKey:
		moveAll(d, meta, spec, "tenant")
		foldKey(d, spec, "clusterCatalog")
		normalizeRecipe(d, spec)
		normalizeExisting(d, spec)
	case logicalClusterKey:
		normalizeLogicalCluster(d, meta, spec)
	}
}

// normalizeExisting accepts an existing cluster in the seed's style of recipe parts,
// existing: {spec: {kubeconfigSecret, kubernetesVersion}}, as well as without the wrapper.
func normalizeExisting(d *docErrors, m *node) {
	if e := m.get("existing"); e.isMap() {
		unwrapSpec(d, e)
		foldKey(d, e, "kubeconfigSecret")
		foldKey(d, e, "kubernetesVersion")
	}
}

// moveInto puts v under key in dst. When dst already holds the key with another value, the
// user wrote one field in two places: that is an error, not a silent choice.
func moveInto(d *docErrors, dst *node, key string, v *node) {
	existing := dst.get(key)
	if existing == nil {
		dst.set(key, v)
		return
	}
	if sameScalar(existing, v) {
		return
	}
	d.atNode(v, "%s is given twice, here and at line %d (%s); keep one", key, existing.at.Line, existing.path)
}

// moveAll moves the named fields of src into dst.
func moveAll(d *docErrors, src, dst *node, keys ...string) {
	for _, k := range keys {
		if v := src.take(k); v != nil {
			moveInto(d, dst, k, v)
		}
	}
}

func sameScalar(a, b *node) bool {
	return a.isScalar() && b.isScalar() && a.value == b.value && a.tag == b.tag
}

// foldKey renames keys that match canonical ignoring case (the seed writes "clustercatalog").
func foldKey(d *docErrors, m *node, canonical string) {
	for i := 0; i < len(m.keys); i++ {
		k := m.keys[i]
		if k == canonical || !strings.EqualFold(k, canonical) {
			continue
		}
		v := m.vals[i]
		m.take(k)
		moveInto(d, m, canonical, v)
		i--
	}
}

// unwrapSpec lifts the fields of a "spec:" wrapper into n: the seed writes recipe parts as
// {spec: {...}}, the canonical form without the wrapper.
func unwrapSpec(d *docErrors, n *node) {
	s := n.take("spec")
	switch {
	case s == nil || s.isNull():
	case !s.isMap():
		d.atValue(s, "must be a map, not %s", s.describe())
	default:
		for i, k := range s.keys {
			moveInto(d, n, k, s.vals[i])
		}
	}
}

// profileTypeSynonyms maps the seed's other spellings of a profile type to the canonical one.
var profileTypeSynonyms = map[string]automationv1alpha1.ProfileType{
	"ApplicationTemplate": automationv1alpha1.SoftwareProfileType,
}

// canonicalType rewrites a profile type written as a synonym.
func canonicalType(t *node) {
	if t.isScalar() {
		if canon, ok := profileTypeSynonyms[t.value]; ok {
			t.value, t.tag = string(canon), "!!str"
		}
	}
}

// copyScalar duplicates a scalar, so one written value can stand in two canonical places.
func copyScalar(n *node) *node {
	c := *n
	return &c
}
