package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// InfrastructureProfileKind is the kind name of InfrastructureProfile.
const InfrastructureProfileKind = "InfrastructureProfile"

// InfrastructureProfileSpec is one revision of a typed set of values. A profile is identified
// by namespace, spec.profileName, spec.type and spec.revision, so several revisions (and
// types) of one name coexist, each its own object; the loader names that object
// "<profileName>-<type>-<revision>" in lower case, e.g. "calico-v1-network-1.0.0".
// +kubebuilder:validation:XValidation:rule="!has(self.template) || self.type == 'Infrastructure'",message="only an Infrastructure profile may name a cluster template"
// +kubebuilder:validation:XValidation:rule="!has(self.clusterClass) || self.type == 'Infrastructure'",message="only an Infrastructure profile may name a ClusterClass"
// +kubebuilder:validation:XValidation:rule="!(has(self.template) && has(self.clusterClass))",message="a profile names a cluster template or a ClusterClass, not both"
// +kubebuilder:validation:XValidation:rule="!has(self.parent) || self.parent.type == self.type",message="the parent profile must have the same type as the profile"
type InfrastructureProfileSpec struct {
	// ProfileName is the name references use (the seed's metadata.name); several objects, one
	// per revision, share it.
	// +required
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`
	// +kubebuilder:validation:MaxLength=253
	ProfileName string `json:"profileName"`

	// Type of the values: Infrastructure, Network or Software.
	// +required
	Type ProfileType `json:"type"`

	// Revision of the profile, a semantic version such as 1.0.0.
	// +required
	// +kubebuilder:validation:Pattern=`^v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`
	// +kubebuilder:validation:MaxLength=128
	Revision string `json:"revision"`

	// Parent profile whose values this one extends: the child's values win, maps merge deeply
	// and lists are replaced.
	// +optional
	Parent *ProfileReference `json:"parent,omitempty"`

	// Template is the Cluster API cluster template that an Infrastructure profile renders.
	// +optional
	Template *TemplateSource `json:"template,omitempty"`

	// ClusterClass makes an Infrastructure profile render a CAPI Cluster with spec.topology.
	// +optional
	ClusterClass *ClusterClassReference `json:"clusterClass,omitempty"`

	// Values of the profile (kubernetesVersion, controlPlaneMachineCount, workerMachineCount,
	// controlplaneFlavor, workerFlavor, cni, podCIDR, serviceCIDR, chart settings, …).
	// +optional
	// +kubebuilder:validation:Type=object
	Values *Values `json:"values,omitempty"`
}

// TemplateSource locates a clusterctl-style cluster template: a file in the same repository
// (preferred: reviewed and pinned by the commit) or a release URL.
// +kubebuilder:validation:XValidation:rule="has(self.path) != has(self.url)",message="a template names exactly one of path or url"
// +kubebuilder:validation:XValidation:rule="!has(self.url) || has(self.filename)",message="a template url needs a filename"
type TemplateSource struct {
	// Path of the template inside the repository, relative to the repository root.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Path string `json:"path,omitempty"`

	// URL of a release location, e.g. https://github.com/kubernetes-sigs/cluster-api-provider-openstack/releases.
	// +optional
	// +kubebuilder:validation:Pattern=`^https?://`
	// +kubebuilder:validation:MaxLength=2048
	URL string `json:"url,omitempty"`

	// Version of the release (with url).
	// +optional
	// +kubebuilder:validation:MaxLength=128
	Version string `json:"version,omitempty"`

	// Filename of the template within the release (with url), e.g. cluster-template.yaml.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Filename string `json:"filename,omitempty"`

	// Digest pins the template's content, as "sha256:<hex>".
	// +optional
	// +kubebuilder:validation:Pattern=`^sha256:[a-f0-9]{64}$`
	Digest string `json:"digest,omitempty"`
}

// ClusterClassReference names a Cluster API ClusterClass.
type ClusterClassReference struct {
	// Name of the ClusterClass.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// Namespace of the ClusterClass; defaults to the cluster's.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Namespace string `json:"namespace,omitempty"`
}

// InfrastructureProfileStatus is the observed state of a profile.
type InfrastructureProfileStatus struct {
	// ObservedGeneration is the generation last acted on.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: Ready is True when the profile (and its parent chain) resolves.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// UsedBy counts the clusters that use this revision.
	// +optional
	UsedBy int32 `json:"usedBy,omitempty"`
}

// InfrastructureProfile is one revision of a typed, inheritable set of values: the
// infrastructure, network or software of a cluster.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=lkp;profile,categories=lkaas
// +kubebuilder:printcolumn:name="Profile",type=string,JSONPath=`.spec.profileName`
// +kubebuilder:printcolumn:name="Type",type=string,JSONPath=`.spec.type`
// +kubebuilder:printcolumn:name="Revision",type=string,JSONPath=`.spec.revision`
// +kubebuilder:printcolumn:name="Parent",type=string,JSONPath=`.spec.parent.name`
// +kubebuilder:printcolumn:name="Used By",type=integer,JSONPath=`.status.usedBy`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type InfrastructureProfile struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   InfrastructureProfileSpec   `json:"spec,omitempty"`
	Status InfrastructureProfileStatus `json:"status,omitempty"`
}

// GetConditions returns the status conditions (fluxcd/pkg/runtime/conditions.Getter).
func (in *InfrastructureProfile) GetConditions() []metav1.Condition { return in.Status.Conditions }

// SetConditions sets the status conditions (fluxcd/pkg/runtime/conditions.Setter).
func (in *InfrastructureProfile) SetConditions(c []metav1.Condition) { in.Status.Conditions = c }

// +kubebuilder:object:root=true

// InfrastructureProfileList is a list of InfrastructureProfile.
type InfrastructureProfileList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []InfrastructureProfile `json:"items"`
}

func init() {
	objectTypes = append(objectTypes, &InfrastructureProfile{}, &InfrastructureProfileList{})
}
