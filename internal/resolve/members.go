package resolve

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
	"github.com/dcn-ssu/lkaas/internal/loader"
)

// LogicalClusterLabel marks a member's Cluster with the logical cluster it belongs to.
const LogicalClusterLabel = automationv1alpha1.LabelPrefix + "logical-cluster"

// ClusterForMember is the L-KaaS Cluster that member i of a logical cluster stands for: named
// after the member, in the logical cluster's namespace, with the member's labels plus
// LogicalClusterLabel, the logical cluster's tenant, and the member's catalog, recipe and
// override (deep copies). It panics when i is out of range, like indexing does.
func ClusterForMember(lc *intentv1.LogicalCluster, i int) *automationv1alpha1.Cluster {
	m := &lc.Spec.Clusters[i]
	labels := make(map[string]string, len(m.Labels)+1)
	maps.Copy(labels, m.Labels)
	labels[LogicalClusterLabel] = lc.Name // ours wins: the controller selects members by it
	return &automationv1alpha1.Cluster{
		TypeMeta: metav1.TypeMeta{
			APIVersion: automationv1alpha1.GroupVersion.String(),
			Kind:       automationv1alpha1.ClusterKind,
		},
		ObjectMeta: metav1.ObjectMeta{Name: m.Name, Namespace: lc.Namespace, Labels: labels},
		Spec: automationv1alpha1.ClusterSpec{
			Tenant:         lc.Spec.Tenant,
			ClusterCatalog: m.ClusterCatalog,
			ClusterRecipe:  *m.ClusterRecipe.DeepCopy(),
			Override:       m.Override.DeepCopy(),
			Existing:       m.Existing.DeepCopy(),
		},
	}
}

// target is a cluster to plan: a standalone Cluster, or a member of a logical cluster whose
// Cluster is built only when it is resolved.
type target struct {
	name types.NamespacedName
	// doc declares the cluster.
	doc docRef

	cluster *automationv1alpha1.Cluster
	lc      *intentv1.LogicalCluster
	member  int
}

// object is the Cluster the target stands for.
func (t *target) object() *automationv1alpha1.Cluster {
	if t.cluster != nil {
		return t.cluster
	}
	return ClusterForMember(t.lc, t.member)
}

// originField is the canonical path of the cluster in its document: "" for a Cluster,
// "spec.clusters[i]" for a member. Built on demand: most targets of a big set are never
// reported on.
func (t *target) originField() string {
	if t.lc == nil {
		return ""
	}
	return fmt.Sprintf("spec.clusters[%d]", t.member)
}

// prefix is where the cluster's recipe fields sit in its document.
func (t *target) prefix() string {
	if t.lc == nil {
		return "spec."
	}
	return t.originField() + "."
}

func (t *target) logicalCluster() string {
	if t.lc == nil {
		return ""
	}
	return t.lc.Name
}

// where tells a user where the target is declared, for collision messages.
func (t *target) where() string {
	if t.lc == nil {
		return fmt.Sprintf("Cluster %s at %s", t.name, t.doc.Origin.Pos)
	}
	return fmt.Sprintf("member of LogicalCluster %s/%s at %s", t.lc.Namespace, t.lc.Name, t.doc.Origin.Field(t.originField()+".name"))
}

// clash is a later declaration of a namespace/name that another target claimed first.
type clash struct {
	name types.NamespacedName
	err  *loader.Error
}

// targets lists every cluster of the set; the first declaration of a namespace/name claims
// it, standalone Clusters before members, and every later one is a clash.
func targets(set *loader.Set) ([]*target, []clash) {
	// The loader sorts, but the order decides who claims a name and where a shared chain is
	// first entered (and so an error's text): never leave it to the caller.
	clusters := slices.Clone(set.Clusters)
	slices.SortStableFunc(clusters, func(a, b loader.Doc[*automationv1alpha1.Cluster]) int {
		return compareObjects(a.Object, b.Object)
	})
	lcs := slices.Clone(set.LogicalClusters)
	slices.SortStableFunc(lcs, func(a, b loader.Doc[*intentv1.LogicalCluster]) int {
		return compareObjects(a.Object, b.Object)
	})
	total := len(clusters)
	for _, d := range lcs {
		total += len(d.Object.Spec.Clusters)
	}
	// One backing array for all targets: a set may hold thousands of members.
	all := make([]target, 0, total)
	for _, d := range clusters {
		c := d.Object
		all = append(all, target{
			name:    types.NamespacedName{Namespace: c.Namespace, Name: c.Name},
			doc:     docRef{Kind: automationv1alpha1.ClusterKind, Name: c.Name, Origin: d.Origin},
			cluster: c,
		})
	}
	for _, d := range lcs {
		lc := d.Object
		doc := docRef{Kind: intentv1.LogicalClusterKind, Name: lc.Name, Origin: d.Origin}
		for i := range lc.Spec.Clusters {
			all = append(all, target{
				name: types.NamespacedName{Namespace: lc.Namespace, Name: lc.Spec.Clusters[i].Name},
				doc:  doc, lc: lc, member: i,
			})
		}
	}

	claimed := make(map[types.NamespacedName]*target, total)
	out := make([]*target, 0, total)
	var clashes []clash
	for i := range all {
		t := &all[i]
		first, dup := claimed[t.name]
		switch {
		case !dup:
			claimed[t.name] = t
			out = append(out, t)
		case t.lc == nil:
			clashes = append(clashes, clash{t.name, t.doc.errorAt("metadata.name", "Cluster %s is already declared: %s", t.name, first.where())})
		default:
			clashes = append(clashes, clash{t.name, t.doc.errorAt(t.originField()+".name",
				"member %q collides with %s; a member becomes a Cluster of its name, so rename one of them",
				t.name.Name, first.where())})
		}
	}
	return out, clashes
}

func compareObjects(a, b metav1.Object) int {
	if c := strings.Compare(a.GetNamespace(), b.GetNamespace()); c != 0 {
		return c
	}
	return strings.Compare(a.GetName(), b.GetName())
}
