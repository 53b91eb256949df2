package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ExistingControlPlaneKind is the kind name of the control-plane object of an existing cluster.
const ExistingControlPlaneKind = "ExistingControlPlane"

// AvailableCondition is the contract's condition CAPI mirrors into the CAPI Cluster's
// ControlPlaneAvailable: True while the existing cluster's API server answers.
const AvailableCondition = "Available"

// ExistingControlPlaneSpec is empty: L-KaaS neither scales nor upgrades an existing cluster's
// control plane, so the contract's optional replicas and version are left out (CAPI then
// reports none), and the endpoint comes from the ExistingCluster, the InfraCluster.
type ExistingControlPlaneSpec struct{}

// ExistingControlPlaneStatus follows CAPI's control-plane contract (v1beta2).
type ExistingControlPlaneStatus struct {
	// Initialization reports, as CAPI's contract asks, whether the control plane is
	// initialized: true once the cluster's API server answered L-KaaS with its kubeconfig.
	// +optional
	Initialization ExistingControlPlaneInitialization `json:"initialization,omitempty,omitzero"`

	// Conditions: Available, True while the API server answers L-KaaS's probe (CAPI mirrors
	// it into the CAPI Cluster's ControlPlaneAvailable).
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=32
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// ExistingControlPlaneInitialization is the contract's status.initialization.
type ExistingControlPlaneInitialization struct {
	// ControlPlaneInitialized is true once the existing cluster's API server answered; it
	// stays true.
	// +optional
	ControlPlaneInitialized *bool `json:"controlPlaneInitialized,omitempty"`
}

// ExistingControlPlane stands for the control plane of a cluster built by other means in
// Cluster API: the controlPlaneRef of the CAPI Cluster that represents it. With it CAPI takes
// the control plane's initialization from L-KaaS's probe instead of looking for control-plane
// Machines (an existing cluster has none), leaves the operator's <name>-kubeconfig alone (a
// control-plane provider's business), and the Helm add-on provider installs into the cluster.
// L-KaaS writes it for an existing cluster that has add-ons and fills its status.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=lkaas;cluster-api,shortName=lkexistingcp
// +kubebuilder:metadata:labels="cluster.x-k8s.io/v1beta2=v1alpha1"
// +kubebuilder:printcolumn:name="Initialized",type=boolean,JSONPath=`.status.initialization.controlPlaneInitialized`
// +kubebuilder:printcolumn:name="Available",type=string,JSONPath=`.status.conditions[?(@.type=="Available")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ExistingControlPlane struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ExistingControlPlaneSpec   `json:"spec,omitempty"`
	Status ExistingControlPlaneStatus `json:"status,omitempty"`
}

// ExistingControlPlaneList is a list of ExistingControlPlanes.
// +kubebuilder:object:root=true
type ExistingControlPlaneList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ExistingControlPlane `json:"items"`
}
