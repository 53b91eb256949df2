package v1alpha1

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
)

// Condition types and label keys shared by the L-KaaS kinds. Readiness follows kstatus: every
// kind carries Ready, Reconciling and Stalled (github.com/fluxcd/pkg/apis/meta names them).
const (
	// LabelPrefix is the prefix of every label and annotation that L-KaaS reads or writes.
	LabelPrefix = "automation.dcn.ssu.ac.kr/"

	// RegionLabel, ZoneLabel and LocationLabel place a cluster; the seed uses all three.
	RegionLabel   = LabelPrefix + "region"
	ZoneLabel     = LabelPrefix + "zone"
	LocationLabel = LabelPrefix + "location"

	// ManagedByLabel names the EMCO endpoint (of the Fleet) that a cluster registers with.
	ManagedByLabel = LabelPrefix + "managed-by"

	// ProjectLabel names the tenant's project (the seed's automation.dcn.ssu.ac.kr/project).
	ProjectLabel = LabelPrefix + "project"

	// SourceRevisionAnnotation stamps every applied object with the Flux artifact revision
	// (e.g. "main@sha1:…") that it came from.
	SourceRevisionAnnotation = LabelPrefix + "source-revision"

	// PausedAnnotation on an L-KaaS Cluster stops L-KaaS from changing it: a human holds it.
	PausedAnnotation = LabelPrefix + "paused"

	// LogicalClusterLabel on a Cluster names the LogicalCluster it is a member of.
	LogicalClusterLabel = LabelPrefix + "logical-cluster"

	// RolloutPermitAnnotation on a member Cluster holds the render hash its LogicalCluster
	// lets it apply. A member applies a changed render (status.renderHash differs from
	// status.appliedRenderHash) only when the permit equals status.renderHash, so changes roll
	// across members in waves; a member's first render needs no permit.
	RolloutPermitAnnotation = LabelPrefix + "rollout-permit"
)

// ProfileType is the kind of values a profile holds.
// +kubebuilder:validation:Enum=Infrastructure;Network;Software
type ProfileType string

const (
	// InfrastructureProfileType: the cluster itself (provider, machines, Kubernetes version).
	InfrastructureProfileType ProfileType = "Infrastructure"
	// NetworkProfileType: the cluster network and its CNI add-on.
	NetworkProfileType ProfileType = "Network"
	// SoftwareProfileType: an add-on installed once the cluster is up (the seed also writes
	// "ApplicationTemplate"; the loader reads that as Software).
	SoftwareProfileType ProfileType = "Software"
)

// ProfileReference names one revision of an InfrastructureProfile.
type ProfileReference struct {
	// Name of the profile.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// Type the referenced profile must have; a Network profile cannot stand in for an
	// Infrastructure one.
	// +required
	Type ProfileType `json:"type"`

	// Revision of the profile: an exact semantic version such as 1.0.0. A reference may give
	// a range (for example ">=1.0.0 <2.0.0" or "~1.2") to take the highest matching revision.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	Revision string `json:"revision"`

	// Namespace of the profile; defaults to the referrer's namespace, then the shared profile
	// namespaces of the Fleet (default: "default").
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Namespace string `json:"namespace,omitempty"`
}

// Values is a free-form tree of settings (kubernetesVersion, workerMachineCount, podCIDR, …).
// Maps merge deeply along a parent chain and through overrides; lists are replaced whole.
// Fields of this type carry +kubebuilder:validation:Type=object so that only a map is accepted.
type Values = apiextensionsv1.JSON

// InfrastructureRecipe picks the infrastructure profile of a cluster.
type InfrastructureRecipe struct {
	// Provider is the Cluster API infrastructure provider the profile targets, e.g.
	// "openstack" or "openstack-v1" (the seed's form), or "docker" for CAPD.
	// +required
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +kubebuilder:validation:MaxLength=63
	Provider string `json:"provider"`

	// Profile is the Infrastructure profile revision to build the cluster from.
	// +required
	// +kubebuilder:validation:XValidation:rule="self.type == 'Infrastructure'",message="an infrastructure recipe must reference a profile of type Infrastructure"
	Profile ProfileReference `json:"profile"`

	// Override values win over the profile's (and its parents').
	// +optional
	// +kubebuilder:validation:Type=object
	Override *Values `json:"override,omitempty"`
}

// AddonRecipe picks a Network or Software profile revision for a cluster.
type AddonRecipe struct {
	// Name of the add-on within the cluster, e.g. "calico-v1" or "prometheus".
	// +required
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`

	// Profile is the Network or Software profile revision of the add-on.
	// +required
	Profile ProfileReference `json:"profile"`

	// Override values win over the profile's.
	// +optional
	// +kubebuilder:validation:Type=object
	Override *Values `json:"override,omitempty"`
}

// ClusterRecipe is what a cluster is made of: infrastructure, network and software profiles.
// A ClusterCatalog holds a whole recipe; a Cluster may hold one inline or take a catalog's.
type ClusterRecipe struct {
	// Infrastructure of the cluster.
	// +optional
	Infrastructure *InfrastructureRecipe `json:"infrastructure,omitempty"`

	// Network of the cluster: its CNI and address ranges.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self.profile.type == 'Network'",message="a network recipe must reference a profile of type Network"
	Network *AddonRecipe `json:"network,omitempty"`

	// Software add-ons installed once the cluster is up.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:XValidation:rule="self.all(s, s.profile.type == 'Software')",message="software add-ons must reference profiles of type Software"
	Software []AddonRecipe `json:"software,omitempty"`
}

// ExistingCluster names a cluster built by other means that L-KaaS takes in as it is: no
// infrastructure is rendered or written for it, and it is never upgraded.
type ExistingCluster struct {
	// KubeconfigSecret is the Secret, in the cluster's namespace, holding its kubeconfig under
	// the key "value" (the format of CAPI's kubeconfig Secrets). It must be named
	// "<cluster name>-kubeconfig", CAPI's name, so that everything reading a cluster's
	// kubeconfig finds it there and L-KaaS never has to copy a credential; empty means that name.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	KubeconfigSecret string `json:"kubeconfigSecret,omitempty"`

	// KubernetesVersion the cluster is expected to run. It is compared with what the cluster
	// reports and a difference is shown in the status; nothing acts on it.
	// +optional
	// +kubebuilder:validation:Pattern=`^v?[0-9]+\.[0-9]+\.[0-9]+([-+].*)?$`
	// +kubebuilder:validation:MaxLength=64
	KubernetesVersion string `json:"kubernetesVersion,omitempty"`
}

// KubeconfigSecretFor is the name of the kubeconfig Secret of an existing cluster: CAPI's
// "<name>-kubeconfig".
func KubeconfigSecretFor(clusterName string) string { return clusterName + "-kubeconfig" }
