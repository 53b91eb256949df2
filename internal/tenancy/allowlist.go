// Package tenancy holds the rules that bound what a tenant's fleet repository may make L-KaaS
// write into the management cluster. A cluster template may produce only the kinds a cluster
// is made of (the Cluster API groups, plus the ConfigMaps and Secrets that a
// ClusterResourceSet or an infrastructure identityRef of the same template names), only namespaced, and only in the cluster's own namespace. The
// platform team widens the kinds per Fleet (spec.extraAllowedKinds); the repository never can.
// It is pure: the same check runs in `lkaas validate`, the Fleet and the Cluster controllers.
package tenancy

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/dcn-ssu/lkaas/internal/loader"
)

// ClusterAPIGroups are the API groups a cluster is made of: core, bootstrap, control plane,
// infrastructure, add-ons and IPAM, and L-KaaS's infrastructure and control-plane groups for
// existing clusters.
var ClusterAPIGroups = []string{
	"cluster.x-k8s.io",
	"bootstrap.cluster.x-k8s.io",
	"controlplane.cluster.x-k8s.io",
	"infrastructure.cluster.x-k8s.io",
	"addons.cluster.x-k8s.io",
	"ipam.cluster.x-k8s.io",
	// L-KaaS's own infrastructure and control-plane kinds (ExistingCluster,
	// ExistingControlPlane), which represent an existing cluster in Cluster API.
	"infrastructure.automation.dcn.ssu.ac.kr",
	"controlplane.automation.dcn.ssu.ac.kr",
}

// knownClusterScoped lists cluster-scoped kinds that a template might name, so the check can
// refuse them without asking an API server: provider identities and IP pools are cluster-wide
// even inside the Cluster API groups, and the core ones give the clearest message.
var knownClusterScoped = map[schema.GroupKind]bool{
	{Group: "", Kind: "Namespace"}:                                                    true,
	{Group: "", Kind: "Node"}:                                                         true,
	{Group: "", Kind: "PersistentVolume"}:                                             true,
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"}:                         true,
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding"}:                  true,
	{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}:                 true,
	{Group: "admissionregistration.k8s.io", Kind: "ValidatingWebhookConfiguration"}:   true,
	{Group: "admissionregistration.k8s.io", Kind: "MutatingWebhookConfiguration"}:     true,
	{Group: "admissionregistration.k8s.io", Kind: "ValidatingAdmissionPolicy"}:        true,
	{Group: "admissionregistration.k8s.io", Kind: "ValidatingAdmissionPolicyBinding"}: true,
	{Group: "apiregistration.k8s.io", Kind: "APIService"}:                             true,
	{Group: "storage.k8s.io", Kind: "StorageClass"}:                                   true,
	{Group: "scheduling.k8s.io", Kind: "PriorityClass"}:                               true,
	{Group: "runtime.cluster.x-k8s.io", Kind: "ExtensionConfig"}:                      true,
	{Group: "infrastructure.cluster.x-k8s.io", Kind: "VSphereClusterIdentity"}:        true,
	{Group: "infrastructure.cluster.x-k8s.io", Kind: "VSphereDeploymentZone"}:         true,
	{Group: "infrastructure.cluster.x-k8s.io", Kind: "VSphereFailureDomain"}:          true,
	{Group: "infrastructure.cluster.x-k8s.io", Kind: "AWSClusterControllerIdentity"}:  true,
	{Group: "infrastructure.cluster.x-k8s.io", Kind: "AWSClusterRoleIdentity"}:        true,
	{Group: "infrastructure.cluster.x-k8s.io", Kind: "AWSClusterStaticIdentity"}:      true,
	{Group: "ipam.cluster.x-k8s.io", Kind: "GlobalInClusterIPPool"}:                   true,
}

// ScopeFunc tells whether a kind is cluster-scoped; known is false when it cannot say (a kind
// whose CRD is not installed). Controllers back it with the API server's RESTMapper.
type ScopeFunc func(schema.GroupKind) (clusterScoped, known bool)

// Policy is what one render may produce.
type Policy struct {
	// Namespace is the cluster's namespace: an object that names any other is refused.
	Namespace string
	// ExtraKinds are kinds the Fleet's owner allows beyond the default list
	// (Fleet.spec.extraAllowedKinds); a cluster-scoped kind stays refused.
	ExtraKinds []schema.GroupKind
	// Scope, when set, is asked first whether a kind is cluster-scoped; the built-in list of
	// well-known cluster-scoped kinds answers otherwise.
	Scope ScopeFunc
}

// Document is one object of a render with the place it was written.
type Document struct {
	// Pos is the document in the template: path, line and column.
	Pos    loader.Position
	Object map[string]any
}

// Check returns one error per object the policy refuses (nil when all pass), each at its
// document's position with the object's kind and name, the offending field and the rule.
func Check(docs []Document, p Policy) loader.ErrorList {
	named := referencedNames(docs)
	var errs loader.ErrorList
	for _, d := range docs {
		apiVersion, _ := d.Object["apiVersion"].(string)
		kind, _ := d.Object["kind"].(string)
		md, _ := d.Object["metadata"].(map[string]any)
		name, _ := md["name"].(string)
		ns, _ := md["namespace"].(string)
		gk := schema.FromAPIVersionAndKind(apiVersion, kind).GroupKind()
		fail := func(field, format string, args ...any) {
			errs = append(errs, &loader.Error{Pos: d.Pos, Kind: kind, Name: name, Field: field, Message: fmt.Sprintf(format, args...)})
		}
		switch {
		case p.clusterScoped(gk):
			fail("kind", "%s is cluster-scoped: a fleet repository may create only namespaced objects in its cluster's namespace", describe(gk))
		case ns != "" && ns != p.Namespace:
			fail("metadata.namespace", "namespace %q: a cluster's objects may live only in its own namespace %q; remove metadata.namespace or use ${NAMESPACE}", ns, p.Namespace)
		case slices.Contains(ClusterAPIGroups, gk.Group), slices.Contains(p.ExtraKinds, gk):
		case gk.Group == "" && (kind == "ConfigMap" || kind == "Secret"):
			if !named[kind+"/"+name] {
				fail("kind", "a %s may be created only when the same template gives it a use (a ClusterResourceSet's spec.resources, an infrastructure object's spec.identityRef); none names %s/%s", kind, kind, name)
			}
		default:
			fail("kind", "%s is not a kind a cluster is made of: allowed are the Cluster API groups (%s), the ConfigMaps and Secrets the template's ClusterResourceSets or identityRefs name, and the kinds the Fleet's spec.extraAllowedKinds adds",
				describe(gk), strings.Join(ClusterAPIGroups, ", "))
		}
	}
	errs.Sort()
	if len(errs) == 0 {
		return nil
	}
	return errs
}

func (p Policy) clusterScoped(gk schema.GroupKind) bool {
	if p.Scope != nil {
		if clusterScoped, known := p.Scope(gk); known {
			return clusterScoped
		}
	}
	return knownClusterScoped[gk]
}

// describe names a kind with its group: "ClusterRoleBinding (rbac.authorization.k8s.io)",
// "Pod (core)".
func describe(gk schema.GroupKind) string {
	group := gk.Group
	if group == "" {
		group = "core"
	}
	return fmt.Sprintf("%s (%s)", gk.Kind, group)
}

// referencedNames collects "Kind/name" of every ConfigMap and Secret the documents give a
// use to: the resources of a ClusterResourceSet, and the credentials Secret an
// infrastructure object names in spec.identityRef (CAPO's clouds.yaml, for one).
func referencedNames(docs []Document) map[string]bool {
	out := map[string]bool{}
	for _, d := range docs {
		apiVersion, _ := d.Object["apiVersion"].(string)
		kind, _ := d.Object["kind"].(string)
		group := schema.FromAPIVersionAndKind(apiVersion, kind).Group
		spec, _ := d.Object["spec"].(map[string]any)
		switch {
		case group == "addons.cluster.x-k8s.io" && kind == "ClusterResourceSet":
			resources, _ := spec["resources"].([]any)
			for _, r := range resources {
				m, _ := r.(map[string]any)
				k, _ := m["kind"].(string)
				n, _ := m["name"].(string)
				if (k == "ConfigMap" || k == "Secret") && n != "" {
					out[k+"/"+n] = true
				}
			}
		case group == "infrastructure.cluster.x-k8s.io":
			ref, _ := spec["identityRef"].(map[string]any)
			k, _ := ref["kind"].(string)
			n, _ := ref["name"].(string)
			if (k == "" || k == "Secret") && n != "" {
				out["Secret/"+n] = true
			}
		}
	}
	return out
}

// ParseKinds reads "Kind.group" or "Kind" (core) entries, as written in
// Fleet.spec.extraAllowedKinds and the --extra-allowed-kind flag, sorted and unique.
func ParseKinds(list []string) []schema.GroupKind {
	seen := map[schema.GroupKind]bool{}
	var out []schema.GroupKind
	for _, s := range list {
		gk := schema.ParseGroupKind(strings.TrimSpace(s))
		if gk.Kind == "" || seen[gk] {
			continue
		}
		seen[gk] = true
		out = append(out, gk)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// kindPattern is Fleet.spec.extraAllowedKinds' item pattern (the CRD enforces the same).
var kindPattern = regexp.MustCompile(`^[A-Z][A-Za-z0-9]*(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

// ValidateKinds checks entries written as in Fleet.spec.extraAllowedKinds, for input that
// does not pass through the CRD (the CLI's --extra-allowed-kind).
func ValidateKinds(list []string) error {
	for _, s := range list {
		if !kindPattern.MatchString(s) {
			return fmt.Errorf("%q is not a kind: write Kind.group (for example IPPool.ipam.metal3.io), or Kind for the core group", s)
		}
	}
	return nil
}
