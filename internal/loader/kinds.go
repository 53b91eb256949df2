package loader

import (
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
)

// kindKey is an apiVersion and kind the loader keeps.
type kindKey struct{ apiVersion, kind string }

var (
	profileKey        = kindKey{automationv1alpha1.GroupVersion.String(), automationv1alpha1.InfrastructureProfileKind}
	catalogKey        = kindKey{automationv1alpha1.GroupVersion.String(), automationv1alpha1.ClusterCatalogKind}
	clusterKey        = kindKey{automationv1alpha1.GroupVersion.String(), automationv1alpha1.ClusterKind}
	fleetKey          = kindKey{automationv1alpha1.GroupVersion.String(), automationv1alpha1.FleetKind}
	logicalClusterKey = kindKey{intentv1.GroupVersion.String(), intentv1.LogicalClusterKind}
)

var acceptedKinds = []kindKey{catalogKey, clusterKey, fleetKey, profileKey, logicalClusterKey}

// lkaasGroups are the API groups whose documents the loader owns: any document of these
// groups must be one of acceptedKinds.
var lkaasGroups = []string{automationv1alpha1.GroupVersion.Group, intentv1.GroupVersion.Group}

// acceptedKindsText lists the accepted apiVersions and kinds for messages:
// "automation.dcn.ssu.ac.kr/v1alpha1 ClusterCatalog|Cluster|…, intent.automation.dcn.ssu.ac.kr/v1 LogicalCluster".
func acceptedKindsText() string {
	byVersion := map[string][]string{}
	var versions []string
	for _, k := range acceptedKinds {
		if _, ok := byVersion[k.apiVersion]; !ok {
			versions = append(versions, k.apiVersion)
		}
		byVersion[k.apiVersion] = append(byVersion[k.apiVersion], k.kind)
	}
	sort.Strings(versions)
	parts := make([]string, len(versions))
	for i, v := range versions {
		kinds := byVersion[v]
		sort.Strings(kinds)
		parts[i] = v + " " + strings.Join(kinds, "|")
	}
	return strings.Join(parts, ", ")
}

// ownedGroup tells whether an apiVersion belongs to an L-KaaS API group.
func ownedGroup(apiVersion string) bool {
	group, _, found := strings.Cut(apiVersion, "/")
	if !found {
		return false
	}
	for _, g := range lkaasGroups {
		if group == g {
			return true
		}
	}
	return false
}

// topScalar returns a top-level scalar field of a document (resolving an alias) and its key.
func topScalar(root *yaml.Node, key string) (value string, keyNode *yaml.Node) {
	if root == nil || root.Kind != yaml.MappingNode {
		return "", nil
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.Value != key {
			continue
		}
		if v.Kind == yaml.AliasNode && v.Alias != nil {
			v = v.Alias
		}
		if v.Kind == yaml.ScalarNode {
			return v.Value, k
		}
		return "", k
	}
	return "", nil
}

// documentName returns metadata.name as written, for error messages about the document.
func documentName(root *yaml.Node) string {
	if root == nil || root.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "metadata" {
			name, _ := topScalar(root.Content[i+1], "name")
			return name
		}
	}
	return ""
}

// classify tells which L-KaaS kind a document is. ok is false for documents of other groups,
// which the loader ignores; an L-KaaS group with an unknown version or kind is an error.
func classify(doc rawDoc, errs *ErrorList) (key kindKey, ok bool) {
	apiVersion, avKey := topScalar(doc.root, "apiVersion")
	if !ownedGroup(apiVersion) {
		return kindKey{}, false
	}
	kind, kindNode := topScalar(doc.root, "kind")
	key = kindKey{apiVersion, kind}
	for _, k := range acceptedKinds {
		if k == key {
			return key, true
		}
	}
	at, field := avKey, "apiVersion"
	if kindNode != nil && knownVersion(apiVersion) {
		at, field = kindNode, "kind"
	}
	*errs = append(*errs, &Error{
		Pos:     Position{File: doc.file, Line: at.Line, Column: at.Column},
		Kind:    kind,
		Name:    documentName(doc.root),
		Field:   field,
		Message: sprintf("unknown apiVersion/kind %q %q; accepted: %s", apiVersion, kind, acceptedKindsText()),
	})
	return key, false
}

func knownVersion(apiVersion string) bool {
	for _, k := range acceptedKinds {
		if k.apiVersion == apiVersion {
			return true
		}
	}
	return false
}
