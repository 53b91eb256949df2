package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ExistingClusterKind is the kind name of the infrastructure object of an existing cluster.
const ExistingClusterKind = "ExistingCluster"

// ManagedByValue is the value of CAPI's cluster.x-k8s.io/managed-by label on every
// ExistingCluster: L-KaaS, not an infrastructure provider's controller, fulfils its contract.
const ManagedByValue = "lkaas"

// ExistingClusterSpec follows CAPI's InfraCluster contract (v1beta2).
type ExistingClusterSpec struct {
	// ControlPlaneEndpoint is where the existing cluster's API server answers: the server of
	// its kubeconfig. L-KaaS fills it; CAPI copies it to the CAPI Cluster.
	// +optional
	ControlPlaneEndpoint APIEndpoint `json:"controlPlaneEndpoint,omitempty,omitzero"`
}

// APIEndpoint is an API server's address, as CAPI's contract spells it.
type APIEndpoint struct {
	// Host is the DNS name or IP address.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	Host string `json:"host,omitempty"`
	// Port is the TCP port.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port,omitempty"`
}

// ExistingClusterStatus follows CAPI's InfraCluster contract (v1beta2).
type ExistingClusterStatus struct {
	// Initialization reports, as CAPI's contract asks, whether the infrastructure is
	// provisioned: true once the cluster's API server answered L-KaaS with its kubeconfig.
	// +optional
	Initialization ExistingClusterInitialization `json:"initialization,omitempty,omitzero"`
}

// ExistingClusterInitialization is the contract's status.initialization.
type ExistingClusterInitialization struct {
	// Provisioned is true once the existing cluster's API server answered; it stays true.
	// +optional
	Provisioned *bool `json:"provisioned,omitempty"`
}

// ExistingCluster stands for a cluster built by other means in Cluster API: the
// infrastructureRef of the CAPI Cluster that represents it, so that ClusterResourceSets reach
// it through CAPI's ClusterCache with its kubeconfig Secret (<name>-kubeconfig). L-KaaS
// writes it for an existing cluster that has add-ons and fills its contract; it carries
// cluster.x-k8s.io/managed-by=lkaas, so no provider's controller acts on it.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=lkaas;cluster-api,shortName=lkexisting
// +kubebuilder:metadata:labels="cluster.x-k8s.io/v1beta2=v1alpha1"
// +kubebuilder:printcolumn:name="Host",type=string,JSONPath=`.spec.controlPlaneEndpoint.host`
// +kubebuilder:printcolumn:name="Port",type=integer,JSONPath=`.spec.controlPlaneEndpoint.port`
// +kubebuilder:printcolumn:name="Provisioned",type=boolean,JSONPath=`.status.initialization.provisioned`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ExistingCluster struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ExistingClusterSpec   `json:"spec,omitempty"`
	Status ExistingClusterStatus `json:"status,omitempty"`
}

// ExistingClusterList is a list of ExistingClusters.
// +kubebuilder:object:root=true
type ExistingClusterList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ExistingCluster `json:"items"`
}
