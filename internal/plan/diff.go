package plan

import (
	"strconv"
	"strings"

	"github.com/dcn-ssu/lkaas/internal/resolve"
	"github.com/dcn-ssu/lkaas/internal/versionrules"
)

// Compare reports what changes from base to head.
func Compare(base, head *Snapshot) (*Report, error) {
	r := &Report{Base: base.Label, Head: head.Label}
	basePlans, headPlans := indexPlans(base.Plans), indexPlans(head.Plans)
	changedMembers := map[string]bool{} // "ns/name" of clusters that change, for waves

	for _, key := range unionKeys(basePlans, headPlans) {
		b, h := basePlans[key], headPlans[key]
		objects, err := objectChanges(base.Rendered[key], head.Rendered[key])
		if err != nil {
			return nil, err
		}
		var c ClusterChange
		switch {
		case b == nil:
			c = ClusterChange{Namespace: h.Namespace, Name: h.Name, LogicalCluster: h.LogicalCluster, Action: Added, Version: planVersion(h), Existing: h.Existing != nil}
			r.Summary.Added++
		case h == nil:
			c = ClusterChange{Namespace: b.Namespace, Name: b.Name, LogicalCluster: b.LogicalCluster, Action: Removed, Version: planVersion(b), Existing: b.Existing != nil}
			r.Summary.Removed++
		default:
			fields := fieldChanges(b, h)
			if len(fields) == 0 && len(objects) == 0 && b.KubernetesVersion == h.KubernetesVersion {
				r.Summary.Unchanged++
				continue
			}
			c = ClusterChange{Namespace: h.Namespace, Name: h.Name, LogicalCluster: h.LogicalCluster, Action: Changed, Fields: fields, Existing: h.Existing != nil}
			if b.KubernetesVersion != h.KubernetesVersion && b.Existing == nil && h.Existing == nil {
				c.Upgrade = &ValueChange{From: b.KubernetesVersion, To: h.KubernetesVersion}
			}
			if b.Existing == nil && h.Existing == nil {
				c.Steps, c.Blocked = versionChange(b, h)
			}
			if c.Blocked != nil {
				r.Summary.Blocked++
			}
			r.Summary.Changed++
		}
		c.Objects = objects
		changedMembers[key] = true
		r.Clusters = append(r.Clusters, c)
	}

	r.LogicalClusters = logicalClusterChanges(base.LogicalClusters, head.LogicalClusters, changedMembers)
	return r, nil
}

func indexPlans(plans []*resolve.Plan) map[string]*resolve.Plan {
	m := make(map[string]*resolve.Plan, len(plans))
	for _, p := range plans {
		m[clusterKey(p)] = p
	}
	return m
}

func unionKeys[V any](a, b map[string]V) []string {
	seen := make(map[string]bool, len(a)+len(b))
	for k := range a {
		seen[k] = true
	}
	for k := range b {
		seen[k] = true
	}
	return sortedKeys(seen)
}

// fieldChanges lists what a reviewer looks for beyond the Kubernetes version.
func fieldChanges(b, h *resolve.Plan) []FieldChange {
	var out []FieldChange
	add := func(field, from, to string) {
		if from != to {
			out = append(out, FieldChange{Field: field, From: from, To: to})
		}
	}
	add("existing", existingLabel(b), existingLabel(h))
	add("expected version (existing, not applied)", existingVersion(b), existingVersion(h))
	add("provider", b.Provider, h.Provider)
	add("clusterCatalog", b.ClusterCatalog, h.ClusterCatalog)
	add("controlPlaneMachineCount", itoa(b.ControlPlaneReplicas), itoa(h.ControlPlaneReplicas))
	add("workerMachineCount", workersLabel(b), workersLabel(h))
	add("controlPlaneFlavor", b.ControlPlaneFlavor, h.ControlPlaneFlavor)
	add("workerFlavor", b.WorkerFlavor, h.WorkerFlavor)
	add("podCIDR", strings.Join(b.PodCIDRs, ","), strings.Join(h.PodCIDRs, ","))
	add("serviceCIDR", strings.Join(b.ServiceCIDRs, ","), strings.Join(h.ServiceCIDRs, ","))
	add("infrastructure profile", profileLabel(b.Infrastructure.Key), profileLabel(h.Infrastructure.Key))
	add("network profile", addonLabel(b.Network), addonLabel(h.Network))
	bs, hs := softwareLabels(b.Software), softwareLabels(h.Software)
	for _, name := range unionKeys(bs, hs) {
		add("software "+name, bs[name], hs[name])
	}
	return out
}

// planVersion is the Kubernetes version a plan asks for, or for an existing cluster the one Git
// expects it to run.
func planVersion(p *resolve.Plan) string {
	if p.Existing != nil {
		return p.Existing.KubernetesVersion
	}
	return p.KubernetesVersion
}

// existingLabel names a cluster's origin only when it is existing, so a cluster switching
// between built and existing shows as a field change.
func existingLabel(p *resolve.Plan) string {
	if p.Existing == nil {
		return ""
	}
	return "kubeconfig " + p.Existing.KubeconfigSecret
}

func existingVersion(p *resolve.Plan) string {
	if p.Existing == nil {
		return ""
	}
	return p.Existing.KubernetesVersion
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }

// workersLabel is the fixed worker count, or the cluster autoscaler's range.
func workersLabel(p *resolve.Plan) string {
	if r := p.WorkerAutoscaling; r != nil {
		return "autoscaled " + itoa(r.Min) + ".." + itoa(r.Max)
	}
	return itoa(p.WorkerReplicas)
}

func profileLabel(k resolve.ProfileKey) string {
	if k.Name == "" {
		return ""
	}
	return k.Name + "@" + k.Revision
}

func addonLabel(a *resolve.Addon) string {
	if a == nil {
		return ""
	}
	return profileLabel(a.Profile.Key)
}

func softwareLabels(addons []resolve.Addon) map[string]string {
	m := make(map[string]string, len(addons))
	for _, a := range addons {
		m[a.Name] = profileLabel(a.Profile.Key)
	}
	return m
}

// versionChange applies Kubernetes' version rules to a cluster that exists on both sides: the
// base is taken for what runs (the pull request's target branch is what L-KaaS applied).
func versionChange(b, h *resolve.Plan) ([]string, *Blocked) {
	d := versionrules.Check(
		versionrules.Running{ControlPlane: b.KubernetesVersion, Workers: []string{b.WorkerVersion()}},
		versionrules.Desired{ControlPlane: h.KubernetesVersion, Workers: h.WorkerKubernetesVersion, Chain: h.KubernetesVersions},
	)
	if d.Refusal != nil {
		e := h.RefusalError(d.Refusal)
		return nil, &Blocked{Rule: string(d.Refusal.Rule), At: e.Pos.String(), Field: e.Field, Message: d.Refusal.Message}
	}
	if d.Chained() {
		return d.StepStrings(), nil
	}
	return nil, nil
}
