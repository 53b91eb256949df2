// Package resolve turns loaded documents into one resolved plan per cluster: profile parent
// chains merged, revisions picked, catalog and overrides applied, logical-cluster members
// expanded. It renders nothing and talks to nothing.
package resolve

import (
	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/internal/loader"
)

// ProfileKey identifies one profile revision.
type ProfileKey struct {
	Namespace string
	Name      string
	Type      automationv1alpha1.ProfileType
	Revision  string
}

// ResolvedProfile is a profile revision with its parent chain merged.
type ResolvedProfile struct {
	// Key is the revision that was picked for the reference.
	Key ProfileKey
	// Chain lists the profile and its ancestors, child first.
	Chain []ProfileKey
	// Template and ClusterClass come from the nearest profile of the chain that names one.
	Template     *automationv1alpha1.TemplateSource
	ClusterClass *automationv1alpha1.ClusterClassReference
	// Values merged along the chain and then with the overrides (maps deeply, lists replaced).
	Values map[string]any
}

// Addon is a resolved network or software add-on.
type Addon struct {
	Name    string
	Profile ResolvedProfile
}

// Plan is everything needed to render one cluster.
type Plan struct {
	Namespace string
	Name      string
	// LogicalCluster names the logical cluster the cluster is a member of, if any.
	LogicalCluster string
	Tenant         string
	// Labels of the L-KaaS Cluster (region, zone, location, managed-by, …).
	Labels map[string]string

	// Existing is set for a cluster built by other means (spec.existing): the plan has no
	// profiles and renders to nothing.
	Existing *ExistingPlan `json:",omitempty"`

	Provider       string
	ClusterCatalog string
	Infrastructure ResolvedProfile
	Network        *Addon
	Software       []Addon

	// Well-known infrastructure values, read from Infrastructure.Values after all overrides.
	KubernetesVersion    string
	ControlPlaneReplicas int32
	// WorkerReplicas is the workers' fixed count; with WorkerAutoscaling it is the range's
	// minimum, what a new MachineDeployment starts with.
	WorkerReplicas int32
	// WorkerAutoscaling is the cluster autoscaler's range for the workers
	// (workerMachineMinCount, workerMachineMaxCount); nil for a fixed count.
	WorkerAutoscaling  *WorkerRange `json:",omitempty"`
	ControlPlaneFlavor string
	WorkerFlavor       string
	PodCIDRs           []string
	ServiceCIDRs       []string
	// WorkerKubernetesVersion is the workers' version when the values set it apart from the
	// control plane's (workerKubernetesVersion); empty means KubernetesVersion.
	WorkerKubernetesVersion string `json:",omitempty"`
	// KubernetesVersions is the platform team's list of versions a jump of several minors
	// steps through (kubernetesVersions); empty means no chained upgrade.
	KubernetesVersions []string `json:",omitempty"`
	// Sources say where the version values were set, keyed by value name
	// (kubernetesVersion, workerKubernetesVersion, kubernetesVersions), so a version rule
	// broken later (plan, controller) is reported at the line to change.
	Sources map[string]Source `json:"-"`

	// Origin of the document that declared the cluster (a Cluster or a LogicalCluster), for
	// errors found while rendering.
	Origin loader.Origin
	// OriginField is the canonical path of the cluster inside that document: "" for a
	// Cluster, "spec.clusters[i]" for a logical-cluster member.
	OriginField string
}

// WorkerRange is the number of workers the cluster autoscaler may choose from, both ends
// included.
type WorkerRange struct {
	Min, Max int32
}

// Source is where a value was set: a field of a document.
type Source struct {
	doc   docRef
	field string // canonical path
}

// ErrorAt is a problem with the value (or, with a suffix such as "[2]", a part of it), in the
// loader's form: path:line:col, document, field as written.
func (s Source) ErrorAt(suffix, format string, args ...any) *loader.Error {
	return s.doc.errorAt(s.field+suffix, format, args...)
}

// WorkerVersion is the workers' Kubernetes version.
func (p *Plan) WorkerVersion() string {
	if p.WorkerKubernetesVersion != "" {
		return p.WorkerKubernetesVersion
	}
	return p.KubernetesVersion
}

// SourceOf is where a value of the plan was set; ok is false when no document set it.
func (p *Plan) SourceOf(key string) (Source, bool) {
	s, ok := p.Sources[key]
	return s, ok
}

// ExistingPlan is what Git says about an existing cluster.
type ExistingPlan struct {
	// KubeconfigSecret is the Secret holding its kubeconfig ("<name>-kubeconfig").
	KubeconfigSecret string
	// KubernetesVersion Git expects it to run; shown against what it reports, never applied.
	KubernetesVersion string `json:",omitempty"`
}
