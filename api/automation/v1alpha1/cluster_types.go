package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ClusterKind is the kind name of the L-KaaS Cluster (not to be confused with CAPI's).
const ClusterKind = "Cluster"

// ClusterSpec describes one cluster: a recipe inline or from a catalog, with overrides.
// +kubebuilder:validation:XValidation:rule="has(self.clusterCatalog) || has(self.infrastructure) || has(self.existing)",message="a cluster needs spec.clusterCatalog, spec.infrastructure or spec.existing"
// +kubebuilder:validation:XValidation:rule="!has(self.existing) || !(has(self.clusterCatalog) || has(self.infrastructure) || has(self.override))",message="an existing cluster (spec.existing) takes no catalog, infrastructure or override: L-KaaS builds nothing for it; only network and software add-ons may stand beside it"
type ClusterSpec struct {
	// Tenant that owns the cluster (the seed's metadata.tenant).
	// +optional
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +kubebuilder:validation:MaxLength=63
	Tenant string `json:"tenant,omitempty"`

	// ClusterCatalog names the catalog, in the cluster's namespace, whose recipe the cluster
	// takes; an inline recipe part replaces the catalog's part of the same name.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	ClusterCatalog string `json:"clusterCatalog,omitempty"`

	// ClusterRecipe given inline.
	ClusterRecipe `json:",inline"`

	// Override values win over the catalog's and the profiles' infrastructure values, e.g.
	// {kubernetesVersion: v1.25.0, workerMachineCount: 5}.
	// +optional
	// +kubebuilder:validation:Type=object
	Override *Values `json:"override,omitempty"`

	// Existing names a cluster built by other means, taken in through its kubeconfig instead of
	// being built from a catalog or profiles.
	// +optional
	Existing *ExistingCluster `json:"existing,omitempty"`
}

// IsExisting tells whether the cluster was built by other means (spec.existing).
func (in *Cluster) IsExisting() bool { return in.Spec.Existing != nil }

// ClusterPhase is a one-word summary of a cluster's state, for people; automation reads the
// conditions instead.
// +kubebuilder:validation:Enum=Pending;Provisioning;Provisioned;Upgrading;Ready;Deleting;Failed
type ClusterPhase string

const (
	ClusterPhasePending      ClusterPhase = "Pending"
	ClusterPhaseProvisioning ClusterPhase = "Provisioning"
	ClusterPhaseProvisioned  ClusterPhase = "Provisioned"
	ClusterPhaseUpgrading    ClusterPhase = "Upgrading"
	ClusterPhaseReady        ClusterPhase = "Ready"
	ClusterPhaseDeleting     ClusterPhase = "Deleting"
	ClusterPhaseFailed       ClusterPhase = "Failed"
)

// ClusterPhases lists every phase, in the order of a cluster's life.
var ClusterPhases = []ClusterPhase{
	ClusterPhasePending, ClusterPhaseProvisioning, ClusterPhaseProvisioned, ClusterPhaseUpgrading,
	ClusterPhaseReady, ClusterPhaseDeleting, ClusterPhaseFailed,
}

// ClusterStatus is the observed state of a cluster, taken from its CAPI objects.
type ClusterStatus struct {
	// ObservedGeneration is the generation last acted on.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: Ready, Reconciling, Stalled (kstatus), plus the CAPI v1beta2 conditions the
	// cluster went through (InfrastructureReady, ControlPlaneInitialized,
	// ControlPlaneAvailable, WorkersAvailable, Available) and AddonsApplied.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// Phase summarizes the conditions.
	// +optional
	Phase ClusterPhase `json:"phase,omitempty"`

	// SourceRevision is the Flux artifact revision the cluster's spec reflects.
	// +optional
	SourceRevision string `json:"sourceRevision,omitempty"`

	// ControlPlaneVersion is the Kubernetes version the control plane runs.
	// +optional
	ControlPlaneVersion string `json:"controlPlaneVersion,omitempty"`

	// WorkersVersion is the Kubernetes version of the workers (the oldest, while rolling).
	// +optional
	WorkersVersion string `json:"workersVersion,omitempty"`

	// KubeconfigSecretName names the Secret with the cluster's admin kubeconfig (key "value").
	// +optional
	KubeconfigSecretName string `json:"kubeconfigSecretName,omitempty"`

	// RenderHash is the hash of the Cluster API objects the cluster's spec and profiles render
	// to now.
	// +optional
	RenderHash string `json:"renderHash,omitempty"`

	// AppliedRenderHash is the hash of the render last applied to the Cluster API objects; it
	// lags RenderHash while a member waits for its rollout wave.
	// +optional
	AppliedRenderHash string `json:"appliedRenderHash,omitempty"`

	// Addons are the cluster's network and software add-ons and whether they are applied.
	// +optional
	// +listType=map
	// +listMapKey=name
	Addons []AddonStatus `json:"addons,omitempty"`

	// EMCO is the cluster's registration with EMCO.
	// +optional
	EMCO *EMCORegistration `json:"emco,omitempty"`
}

// AddonStatus is the state of one add-on on a cluster.
type AddonStatus struct {
	// Name of the add-on in the cluster's recipe.
	Name string `json:"name"`
	// Kind of the object that installs it: ClusterResourceSet or HelmChartProxy.
	// +optional
	Kind string `json:"kind,omitempty"`
	// Object is the name of that (shared) object.
	// +optional
	Object string `json:"object,omitempty"`
	// Applied is true once the add-on provider reports it applied to this cluster
	// (ClusterResourceSetBinding, HelmReleaseProxy).
	Applied bool `json:"applied"`
	// Message from the add-on provider.
	// +optional
	Message string `json:"message,omitempty"`
}

// EMCORegistration is where and how a cluster is registered with EMCO.
type EMCORegistration struct {
	// Endpoint is the name of the Fleet's EMCO endpoint.
	Endpoint string `json:"endpoint"`
	// Project in EMCO whose logical clouds may reference the cluster.
	// +optional
	Project string `json:"project,omitempty"`
	// ClusterProvider in EMCO's clm.
	ClusterProvider string `json:"clusterProvider"`
	// Cluster name in EMCO's clm.
	Cluster string `json:"cluster"`
	// Registered is true once EMCO holds the cluster with its current kubeconfig.
	Registered bool `json:"registered"`
	// KubeconfigDigest is the sha256 of the kubeconfig registered last, to see rotation.
	// +optional
	KubeconfigDigest string `json:"kubeconfigDigest,omitempty"`
}

// Cluster is one Kubernetes cluster built by Cluster API from profiles.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=lkc,categories=lkaas
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Version",type=string,JSONPath=`.status.controlPlaneVersion`
// +kubebuilder:printcolumn:name="Catalog",type=string,JSONPath=`.spec.clusterCatalog`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`
// +kubebuilder:printcolumn:name="Revision",type=string,JSONPath=`.status.sourceRevision`,priority=1
// +kubebuilder:printcolumn:name="EMCO",type=boolean,JSONPath=`.status.emco.registered`,priority=1
// +kubebuilder:validation:XValidation:rule="!has(self.spec.existing) || !has(self.spec.existing.kubeconfigSecret) || self.spec.existing.kubeconfigSecret == self.metadata.name + '-kubeconfig'",message="spec.existing.kubeconfigSecret must be <cluster name>-kubeconfig, CAPI's name for a cluster's kubeconfig"
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Cluster struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ClusterSpec   `json:"spec,omitempty"`
	Status ClusterStatus `json:"status,omitempty"`
}

// GetConditions returns the status conditions (fluxcd/pkg/runtime/conditions.Getter).
func (in *Cluster) GetConditions() []metav1.Condition { return in.Status.Conditions }

// SetConditions sets the status conditions (fluxcd/pkg/runtime/conditions.Setter).
func (in *Cluster) SetConditions(c []metav1.Condition) { in.Status.Conditions = c }

// +kubebuilder:object:root=true

// ClusterList is a list of Cluster.
type ClusterList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Cluster `json:"items"`
}

func init() {
	objectTypes = append(objectTypes, &Cluster{}, &ClusterList{})
}
