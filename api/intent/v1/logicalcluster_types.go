package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
)

// LogicalClusterKind is the kind name of LogicalCluster.
const LogicalClusterKind = "LogicalCluster"

// LogicalClusterSpec lists the member clusters and how changes roll across them.
type LogicalClusterSpec struct {
	// Tenant that owns the logical cluster (the seed's "tenant" label).
	// +optional
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +kubebuilder:validation:MaxLength=63
	Tenant string `json:"tenant,omitempty"`

	// Clusters are the members, each an L-KaaS Cluster named after it.
	// +required
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=500
	Clusters []MemberCluster `json:"clusters"`

	// Rollout bounds how many members change at once.
	// +optional
	Rollout *Rollout `json:"rollout,omitempty"`

	// LogicalCloud shapes the EMCO logical cloud of the group.
	// +optional
	LogicalCloud *LogicalCloud `json:"logicalCloud,omitempty"`
}

// MemberCluster is one member of a logical cluster.
// +kubebuilder:validation:XValidation:rule="has(self.clusterCatalog) || has(self.infrastructure) || has(self.existing)",message="a member needs clusterCatalog, infrastructure or existing"
// +kubebuilder:validation:XValidation:rule="!has(self.existing) || !(has(self.clusterCatalog) || has(self.infrastructure) || has(self.override))",message="an existing member takes no catalog, infrastructure or override: L-KaaS builds nothing for it; only network and software add-ons may stand beside it"
// +kubebuilder:validation:XValidation:rule="!has(self.existing) || !has(self.existing.kubeconfigSecret) || self.existing.kubeconfigSecret == self.name + '-kubeconfig'",message="existing.kubeconfigSecret must be <member name>-kubeconfig, CAPI's name for a cluster's kubeconfig"
type MemberCluster struct {
	// Name of the member, and of the L-KaaS Cluster made for it.
	// +required
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`

	// Labels of the member cluster (region, location, managed-by, …).
	// +optional
	Labels map[string]string `json:"labels,omitempty"`

	// ClusterCatalog the member is built from.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	ClusterCatalog string `json:"clusterCatalog,omitempty"`

	// ClusterRecipe parts given inline replace the catalog's.
	automationv1alpha1.ClusterRecipe `json:",inline"`

	// Override values win over the catalog's and the profiles'.
	// +optional
	// +kubebuilder:validation:Type=object
	Override *automationv1alpha1.Values `json:"override,omitempty"`

	// Existing names a cluster built by other means, taken in through its kubeconfig.
	// +optional
	Existing *automationv1alpha1.ExistingCluster `json:"existing,omitempty"`

	// Wave orders members during a rollout: lower waves change first (default 0). Members of
	// one wave change together, within maxUnavailable.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	Wave int32 `json:"wave,omitempty"`
}

// Rollout bounds a change across members.
type Rollout struct {
	// MaxUnavailable is how many members (or what share, e.g. "25%") may be changing at once.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:XIntOrString
	// +kubebuilder:validation:XValidation:rule="type(self) == int ? self >= 1 : self.matches('^[1-9][0-9]?%$|^100%$')",message="maxUnavailable is a count of at least 1 or a percentage from 1% to 100%"
	MaxUnavailable *intstr.IntOrString `json:"maxUnavailable,omitempty"`

	// Timeout of one wave: members not Available on the new render by then halt the rollout.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	Timeout *metav1.Duration `json:"timeout,omitempty"`
}

// LogicalCloudLevel is EMCO's logical cloud level.
// +kubebuilder:validation:Enum="0";"1"
type LogicalCloudLevel string

// LogicalCloud shapes the EMCO logical cloud of the group.
// +kubebuilder:validation:XValidation:rule="self.level == '0' || (has(self.namespace) && has(self.user))",message="a level 1 logical cloud needs namespace and user"
type LogicalCloud struct {
	// Level 0 gives the tenant the whole clusters; level 1 a namespace with permissions.
	// +optional
	// +kubebuilder:default="0"
	Level LogicalCloudLevel `json:"level,omitempty"`

	// Namespace on every member (level 1).
	// +optional
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +kubebuilder:validation:MaxLength=63
	Namespace string `json:"namespace,omitempty"`

	// User the logical cloud is for (level 1).
	// +optional
	// +kubebuilder:validation:MaxLength=128
	User string `json:"user,omitempty"`
}

// MemberStatus is the observed state of one member.
type MemberStatus struct {
	// Name of the member.
	Name string `json:"name"`
	// Phase of its Cluster.
	// +optional
	Phase automationv1alpha1.ClusterPhase `json:"phase,omitempty"`
	// KubernetesVersion its control plane runs.
	// +optional
	KubernetesVersion string `json:"kubernetesVersion,omitempty"`
	// Wave the member belongs to.
	// +optional
	Wave int32 `json:"wave,omitempty"`
	// Registered is true once EMCO holds the member's cluster (its Cluster's status.emco);
	// status.emco.clusters lists the members the logical cloud references.
	// +optional
	Registered bool `json:"registered,omitempty"`
	// Pending is true while a change of the member waits for its wave.
	// +optional
	Pending bool `json:"pending,omitempty"`
}

// LogicalClusterStatus is the observed state of a logical cluster.
type LogicalClusterStatus struct {
	// ObservedGeneration is the generation last acted on.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: Ready, Reconciling, Stalled; plus Registered (the EMCO logical cloud).
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// Phase summarizes the members.
	// +optional
	Phase automationv1alpha1.ClusterPhase `json:"phase,omitempty"`

	// SourceRevision is the Flux artifact revision the spec reflects.
	// +optional
	SourceRevision string `json:"sourceRevision,omitempty"`

	// Members in spec order.
	// +optional
	// +listType=map
	// +listMapKey=name
	Members []MemberStatus `json:"members,omitempty"`

	// ReadyMembers counts members whose Cluster is Ready.
	// +optional
	ReadyMembers int32 `json:"readyMembers,omitempty"`

	// TotalMembers counts members.
	// +optional
	TotalMembers int32 `json:"totalMembers,omitempty"`

	// CurrentWave is the wave a rollout is in; empty when nothing rolls.
	// +optional
	CurrentWave *int32 `json:"currentWave,omitempty"`

	// LogicalCloud is the EMCO logical cloud's name, once created.
	// +optional
	LogicalCloud string `json:"logicalCloud,omitempty"`

	// EMCO is the logical cloud as EMCO holds it.
	// +optional
	EMCO *LogicalCloudRegistration `json:"emco,omitempty"`
}

// LogicalCloudRegistration is the record of a logical cluster's EMCO logical cloud: where it
// is, which member clusters it references and what dcm reports of its deployment.
type LogicalCloudRegistration struct {
	// Endpoint is the name of the Fleet's EMCO endpoint.
	Endpoint string `json:"endpoint"`
	// Project in EMCO.
	Project string `json:"project"`
	// LogicalCloud name in EMCO's dcm.
	LogicalCloud string `json:"logicalCloud"`
	// Level of the logical cloud: "0" (admin) or "1" (standard).
	// +optional
	Level LogicalCloudLevel `json:"level,omitempty"`
	// Clusters the logical cloud references, as "<clusterProvider>+<cluster>", sorted.
	// +optional
	Clusters []string `json:"clusters,omitempty"`
	// DeployedStatus is dcm's deployment status (Instantiated, Instantiating, Terminated, …).
	// +optional
	DeployedStatus string `json:"deployedStatus,omitempty"`
	// ReadyStatus is dcm's readiness status of the deployment.
	// +optional
	ReadyStatus string `json:"readyStatus,omitempty"`
}

// LogicalCluster is a named group of member clusters, e.g. a 5G core cluster plus edge
// clusters in several regions, built, rolled and registered with EMCO as one.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=lklc;lcluster,categories=lkaas
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Ready Members",type=integer,JSONPath=`.status.readyMembers`
// +kubebuilder:printcolumn:name="Members",type=integer,JSONPath=`.status.totalMembers`
// +kubebuilder:printcolumn:name="Logical Cloud",type=string,JSONPath=`.status.logicalCloud`,priority=1
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type LogicalCluster struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   LogicalClusterSpec   `json:"spec,omitempty"`
	Status LogicalClusterStatus `json:"status,omitempty"`
}

// GetConditions returns the status conditions (fluxcd/pkg/runtime/conditions.Getter).
func (in *LogicalCluster) GetConditions() []metav1.Condition { return in.Status.Conditions }

// SetConditions sets the status conditions (fluxcd/pkg/runtime/conditions.Setter).
func (in *LogicalCluster) SetConditions(c []metav1.Condition) { in.Status.Conditions = c }

// +kubebuilder:object:root=true

// LogicalClusterList is a list of LogicalCluster.
type LogicalClusterList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []LogicalCluster `json:"items"`
}

func init() {
	objectTypes = append(objectTypes, &LogicalCluster{}, &LogicalClusterList{})
}
