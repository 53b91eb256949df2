package render

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/internal/resolve"
)

// Label keys the render writes. Values always pass Kubernetes label-value validation: they are
// sanitized, and shortened with a hash suffix when longer than 63 characters.
const (
	// ClusterLabel names the L-KaaS Cluster an object was rendered for.
	ClusterLabel = automationv1alpha1.LabelPrefix + "cluster"
	// LogicalClusterLabel names the LogicalCluster the cluster belongs to, when it does.
	LogicalClusterLabel = automationv1alpha1.LabelPrefix + "logical-cluster"
	// TenantLabel names the tenant that owns the cluster, when the plan has one.
	TenantLabel = automationv1alpha1.LabelPrefix + "tenant"
	// InfrastructureProfileLabel and NetworkProfileLabel hold "<profile>-<revision>".
	InfrastructureProfileLabel = automationv1alpha1.LabelPrefix + "infrastructure-profile"
	NetworkProfileLabel        = automationv1alpha1.LabelPrefix + "network-profile"
	// AddonLabelPrefix + "<add-on name>" on a cluster's objects holds the add-on instance ID;
	// shared add-on objects select CAPI Clusters by exactly that label.
	AddonLabelPrefix = "addons." + automationv1alpha1.LabelPrefix
	// AddonInstanceLabel marks a shared add-on object (ClusterResourceSet, ConfigMap,
	// HelmChartProxy) with its instance ID; it carries no cluster label because many clusters
	// use it, so whatever prunes must keep it while any cluster still selects it.
	AddonInstanceLabel = automationv1alpha1.LabelPrefix + "addon-instance"
	// ManagedByLabel is the usual app.kubernetes.io/managed-by.
	ManagedByLabel = "app.kubernetes.io/managed-by"
	managedByValue = "lkaas"
)

const maxLabelValue = 63

// labelValue turns any string into a valid label value: characters outside [A-Za-z0-9._-]
// become '-', ends are trimmed to alphanumerics, and a value over 63 characters keeps a
// prefix plus an 8-hex hash of the original, so distinct inputs stay distinct.
func labelValue(s string) string {
	return shorten(sanitize(s, true), s, maxLabelValue)
}

// dnsName turns a string into a DNS-1123 label-like name (lower case, [a-z0-9-]), at most
// max characters, hashed like labelValue when too long. Used for add-on object names.
func dnsName(s string, max int) string {
	return shorten(sanitize(strings.ToLower(s), false), s, max)
}

func sanitize(s string, allowUpperDotUnderscore bool) string {
	b := []byte(s)
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-'
		if allowUpperDotUnderscore {
			ok = ok || c >= 'A' && c <= 'Z' || c == '.' || c == '_'
		}
		if !ok {
			b[i] = '-'
		}
	}
	return strings.TrimFunc(string(b), func(r rune) bool { return !isAlnum(r) })
}

func shorten(v, original string, max int) string {
	if len(v) <= max {
		return v
	}
	h := shortHash([]byte(original))
	v = strings.TrimRightFunc(v[:max-len(h)-1], func(r rune) bool { return !isAlnum(r) })
	return v + "-" + h
}

func isAlnum(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

// shortHash is the first 8 hex digits of the SHA-256 of b.
func shortHash(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:4])
}

// profileRevision is "<profile>-<revision>" as a label value.
func profileRevision(p resolve.ResolvedProfile) string {
	return labelValue(p.Key.Name + "-" + p.Key.Revision)
}

// addonLabelKey is the selection label key of one add-on. The add-on name is already
// DNS-like (the API validates it); sanitizing keeps hand-built plans safe too.
func addonLabelKey(addonName string) string {
	return AddonLabelPrefix + labelValue(addonName)
}

// clusterLabels are the labels every per-cluster object carries.
func clusterLabels(plan *resolve.Plan, addons []addonInstance) map[string]string {
	l := map[string]string{
		ClusterLabel:   labelValue(plan.Name),
		ManagedByLabel: managedByValue,
	}
	if plan.LogicalCluster != "" {
		l[LogicalClusterLabel] = labelValue(plan.LogicalCluster)
	}
	if plan.Tenant != "" {
		l[TenantLabel] = labelValue(plan.Tenant)
	}
	if plan.Infrastructure.Key.Name != "" {
		l[InfrastructureProfileLabel] = profileRevision(plan.Infrastructure)
	}
	if plan.Network != nil {
		l[NetworkProfileLabel] = profileRevision(plan.Network.Profile)
	}
	for _, a := range addons {
		l[addonLabelKey(a.name)] = a.id
	}
	return l
}

// mergeLabels adds labels to obj's own; the render's labels win over the template's.
func mergeLabels(obj map[string]any, labels map[string]string) {
	md, _ := obj["metadata"].(map[string]any)
	if md == nil {
		md = map[string]any{}
		obj["metadata"] = md
	}
	l, _ := md["labels"].(map[string]any)
	if l == nil {
		l = make(map[string]any, len(labels))
		md["labels"] = l
	}
	for k, v := range labels {
		l[k] = v
	}
}

// setClusterLabels gives one of a cluster's objects its labels: its own from the template,
// then place (the CAPI Cluster's), then the render's, which win. An object with none of its
// own gets common, the render's labels as one map all the cluster's objects share; any other
// a new map, so that no template map is written into (shared.go).
func setClusterLabels(obj map[string]any, place, labels map[string]string, common map[string]any) {
	md, _ := obj["metadata"].(map[string]any)
	if md == nil {
		md = map[string]any{}
		obj["metadata"] = md
	}
	own, _ := md["labels"].(map[string]any)
	if len(own) == 0 && len(place) == 0 {
		md["labels"] = common
		return
	}
	l := make(map[string]any, len(own)+len(place)+len(labels))
	for k, v := range own {
		l[k] = v
	}
	for k, v := range place {
		l[k] = v
	}
	for k, v := range labels {
		l[k] = v
	}
	md["labels"] = l
}
