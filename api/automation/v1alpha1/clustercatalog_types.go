package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ClusterCatalogKind is the kind name of ClusterCatalog.
const ClusterCatalogKind = "ClusterCatalog"

// ClusterCatalogSpec is a reusable cluster recipe. Clusters and LogicalCluster members that
// name the catalog take its recipe; their own overrides win over the catalog's.
// +kubebuilder:validation:XValidation:rule="has(self.infrastructure)",message="a catalog needs spec.infrastructure"
type ClusterCatalogSpec struct {
	ClusterRecipe `json:",inline"`

	// Description for people choosing a catalog.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Description string `json:"description,omitempty"`
}

// ClusterCatalogStatus is the observed state of a catalog.
type ClusterCatalogStatus struct {
	// ObservedGeneration is the generation last acted on.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: Ready is True when every profile the recipe names resolves.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// UsedBy counts the clusters built from this catalog.
	// +optional
	UsedBy int32 `json:"usedBy,omitempty"`
}

// ClusterCatalog is a named cluster recipe (infrastructure + network + software profiles with
// overrides) that clusters and logical-cluster members reuse.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=lkcat;catalog,categories=lkaas
// +kubebuilder:printcolumn:name="Provider",type=string,JSONPath=`.spec.infrastructure.provider`
// +kubebuilder:printcolumn:name="Infrastructure",type=string,JSONPath=`.spec.infrastructure.profile.name`
// +kubebuilder:printcolumn:name="Network",type=string,JSONPath=`.spec.network.profile.name`
// +kubebuilder:printcolumn:name="Used By",type=integer,JSONPath=`.status.usedBy`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ClusterCatalog struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ClusterCatalogSpec   `json:"spec,omitempty"`
	Status ClusterCatalogStatus `json:"status,omitempty"`
}

// GetConditions returns the status conditions (fluxcd/pkg/runtime/conditions.Getter).
func (in *ClusterCatalog) GetConditions() []metav1.Condition { return in.Status.Conditions }

// SetConditions sets the status conditions (fluxcd/pkg/runtime/conditions.Setter).
func (in *ClusterCatalog) SetConditions(c []metav1.Condition) { in.Status.Conditions = c }

// +kubebuilder:object:root=true

// ClusterCatalogList is a list of ClusterCatalog.
type ClusterCatalogList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterCatalog `json:"items"`
}

func init() {
	objectTypes = append(objectTypes, &ClusterCatalog{}, &ClusterCatalogList{})
}
