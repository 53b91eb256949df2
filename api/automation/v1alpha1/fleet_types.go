package v1alpha1

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// FleetKind is the kind name of Fleet.
const FleetKind = "Fleet"

// ApproveDeletionAnnotation on a Fleet approves, for the source revision it names, a commit
// that would delete more of the Fleet's clusters than spec.deletionGuard allows.
const ApproveDeletionAnnotation = LabelPrefix + "approve-deletion"

// FleetSpec binds a Flux source and path to the Fleet's namespace.
type FleetSpec struct {
	// SourceRef is the Flux source whose artifact holds the fleet's documents.
	// +required
	SourceRef SourceReference `json:"sourceRef"`

	// Path of the fleet's documents inside the artifact; defaults to the root.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:XValidation:rule="!self.contains('..')",message="path must stay inside the artifact (no '..')"
	Path string `json:"path,omitempty"`

	// Interval between full reconciliations, which also correct drift.
	// +required
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	Interval metav1.Duration `json:"interval"`

	// RetryInterval after a failed reconciliation; defaults to Interval.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	RetryInterval *metav1.Duration `json:"retryInterval,omitempty"`

	// Timeout of one reconciliation (fetch, validate, apply).
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// Suspend stops reconciliation; what is applied stays as it is.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// Prune deletes objects whose documents were removed from Git.
	// +optional
	Prune bool `json:"prune,omitempty"`

	// DeletionGuard holds back a commit that would delete too many of the Fleet's clusters.
	// +optional
	DeletionGuard *DeletionGuard `json:"deletionGuard,omitempty"`

	// SharedProfileNamespaces are namespaces whose profiles the fleet's clusters may use,
	// read-only. Defaults to ["default"], where the seed keeps administrators' profiles.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	SharedProfileNamespaces []string `json:"sharedProfileNamespaces,omitempty"`

	// VariablesFrom are Secrets and ConfigMaps in the Fleet's namespace whose keys become
	// template variables (credentials such as OPENSTACK_CLOUD_YAML_B64).
	// +optional
	// +kubebuilder:validation:MaxItems=32
	VariablesFrom []VariablesReference `json:"variablesFrom,omitempty"`

	// ServiceAccountName is the ServiceAccount, in the Fleet's namespace, that L-KaaS
	// impersonates for every write on the Fleet's behalf, as Flux's Kustomization does: the
	// tenant's RBAC bounds what its repository can create. Defaults to the controller's
	// --default-service-account; with neither, the controller writes as itself.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`
	ServiceAccountName string `json:"serviceAccountName,omitempty"`

	// ExtraAllowedKinds widen the kinds the Fleet's cluster templates may produce beyond the
	// Cluster API groups and the ConfigMaps and Secrets they name: "Kind.group" (for example
	// "IPPool.ipam.metal3.io") or "Kind" for the core group. Only the Fleet's owner sets it:
	// a repository never can (a Fleet cannot apply a Fleet). Cluster-scoped kinds stay refused.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=317
	// +kubebuilder:validation:items:Pattern=`^[A-Z][A-Za-z0-9]*(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	ExtraAllowedKinds []string `json:"extraAllowedKinds,omitempty"`

	// EMCO endpoints that the fleet's ready clusters and logical clusters register with.
	// +optional
	EMCO *EMCOSettings `json:"emco,omitempty"`

	// WriteBack commits observed status to Git.
	// +optional
	WriteBack *WriteBack `json:"writeBack,omitempty"`
}

// SourceReference names a Flux source.
type SourceReference struct {
	// APIVersion of the source; defaults to the kind's served version.
	// +optional
	APIVersion string `json:"apiVersion,omitempty"`

	// Kind of the source.
	// +required
	// +kubebuilder:validation:Enum=GitRepository;OCIRepository;Bucket
	Kind string `json:"kind"`

	// Name of the source.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// Namespace of the source; defaults to the Fleet's. Another namespace is refused unless
	// the controller runs with cross-namespace references allowed.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Namespace string `json:"namespace,omitempty"`
}

// DeletionGuard bounds how much of a fleet one commit may delete.
type DeletionGuard struct {
	// MaxClusterDeletionPercent is the largest share of the Fleet's clusters one revision may
	// delete without approval. A revision that deletes every cluster always needs approval.
	// +optional
	// +kubebuilder:default=50
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	MaxClusterDeletionPercent int32 `json:"maxClusterDeletionPercent,omitempty"`
}

// VariablesReference names a Secret or ConfigMap of template variables.
type VariablesReference struct {
	// Kind of the object.
	// +required
	// +kubebuilder:validation:Enum=Secret;ConfigMap
	Kind string `json:"kind"`

	// Name of the object in the Fleet's namespace.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// Optional tolerates a missing object.
	// +optional
	Optional bool `json:"optional,omitempty"`
}

// EMCOSettings lists the EMCO endpoints of a fleet.
// +kubebuilder:validation:XValidation:rule="!has(self.defaultEndpoint) || self.endpoints.exists(e, e.name == self.defaultEndpoint)",message="defaultEndpoint must name one of spec.emco.endpoints"
type EMCOSettings struct {
	// Endpoints by name; a cluster's automation.dcn.ssu.ac.kr/managed-by label picks one.
	// +required
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	Endpoints []EMCOEndpoint `json:"endpoints"`

	// DefaultEndpoint serves clusters without a managed-by label.
	// +optional
	DefaultEndpoint string `json:"defaultEndpoint,omitempty"`
}

// EMCOEndpoint is one EMCO installation.
// +kubebuilder:validation:XValidation:rule="has(self.url) || (has(self.orchestratorURL) && has(self.clmURL) && has(self.dcmURL))",message="an endpoint needs url, or orchestratorURL, clmURL and dcmURL"
type EMCOEndpoint struct {
	// Name of the endpoint, e.g. emco-mec-central-mgmt.
	// +required
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`

	// URL of an ingress that serves every EMCO service.
	// +optional
	// +kubebuilder:validation:Pattern=`^https?://`
	URL string `json:"url,omitempty"`

	// OrchestratorURL, ClmURL and DcmURL address the services one by one.
	// +optional
	// +kubebuilder:validation:Pattern=`^https?://`
	OrchestratorURL string `json:"orchestratorURL,omitempty"`
	// +optional
	// +kubebuilder:validation:Pattern=`^https?://`
	ClmURL string `json:"clmURL,omitempty"`
	// +optional
	// +kubebuilder:validation:Pattern=`^https?://`
	DcmURL string `json:"dcmURL,omitempty"`

	// Project in EMCO; defaults to the Fleet's namespace.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	Project string `json:"project,omitempty"`

	// SecretRef names a Secret with a bearer token (key "token") and a CA bundle ("ca.crt").
	// +optional
	SecretRef *LocalObjectReference `json:"secretRef,omitempty"`

	// Rsync is the gRPC endpoint of EMCO's rsync that L-KaaS registers as the orchestrator's
	// "rsync" controller entry, which dcm needs before any logical cloud can be instantiated.
	// Defaults to host "rsync", port 9031 (the EMCO Helm chart's service).
	// +optional
	Rsync *EMCORsync `json:"rsync,omitempty"`
}

// EMCORsync is where EMCO's rsync listens.
type EMCORsync struct {
	// Host of rsync's gRPC service.
	// +optional
	// +kubebuilder:default="rsync"
	// +kubebuilder:validation:MaxLength=253
	Host string `json:"host,omitempty"`

	// Port of rsync's gRPC service.
	// +optional
	// +kubebuilder:default=9031
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port,omitempty"`
}

// WriteBack says where and how observed status is committed to Git.
type WriteBack struct {
	// URL of the repository; defaults to the GitRepository's.
	// +optional
	URL string `json:"url,omitempty"`

	// SecretRef names a Secret with Git credentials, in the keys Flux uses (username and
	// password, bearerToken, or identity and known_hosts).
	// +optional
	SecretRef *LocalObjectReference `json:"secretRef,omitempty"`

	// Branch that status commits go to; defaults to lkaas/status, so that status commits
	// never trigger a new spec reconciliation.
	// +optional
	// +kubebuilder:default="lkaas/status"
	// +kubebuilder:validation:MaxLength=255
	Branch string `json:"branch,omitempty"`

	// Path of the status directory in the repository.
	// +optional
	// +kubebuilder:default="status/"
	// +kubebuilder:validation:MaxLength=1024
	Path string `json:"path,omitempty"`

	// Author of the status commits.
	// +optional
	Author *CommitAuthor `json:"author,omitempty"`

	// SigningKeySecretRef names a Secret with an OpenPGP ("git.asc") or SSH ("identity")
	// signing key.
	// +optional
	SigningKeySecretRef *LocalObjectReference `json:"signingKeySecretRef,omitempty"`

	// MessageTemplate of commit messages (Go text/template).
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	MessageTemplate string `json:"messageTemplate,omitempty"`
}

// CommitAuthor is the author of status commits.
type CommitAuthor struct {
	// +required
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// +required
	// +kubebuilder:validation:MinLength=3
	Email string `json:"email"`
}

// LocalObjectReference names an object in the same namespace.
type LocalObjectReference struct {
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// FleetStatus is the observed state of a Fleet.
type FleetStatus struct {
	// ObservedGeneration is the generation last acted on.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: Ready, Reconciling, Stalled; plus DeletionHeld while the deletion guard
	// holds a revision back.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// LastAppliedRevision is the source revision last applied in full.
	// +optional
	LastAppliedRevision string `json:"lastAppliedRevision,omitempty"`

	// LastAttemptedRevision is the source revision last tried, applied or not.
	// +optional
	LastAttemptedRevision string `json:"lastAttemptedRevision,omitempty"`

	// LastHandledReconcileAt is the last reconcile.fluxcd.io/requestedAt value acted on.
	// +optional
	LastHandledReconcileAt string `json:"lastHandledReconcileAt,omitempty"`

	// Inventory of the objects applied from LastAppliedRevision.
	// +optional
	Inventory *Inventory `json:"inventory,omitempty"`

	// Clusters counts the fleet's clusters by phase; every phase is listed, zero when none.
	// +optional
	Clusters map[string]int32 `json:"clusters,omitempty"`

	// WriteBack is the state of the status writer.
	// +optional
	WriteBack *WriteBackStatus `json:"writeBack,omitempty"`
}

// Inventory lists applied objects with the hash of what was applied, so an unchanged
// document needs no request to the API server.
type Inventory struct {
	// +listType=atomic
	Entries []InventoryEntry `json:"entries"`
}

// InventoryEntry is one applied object.
type InventoryEntry struct {
	// ID is "<namespace>_<name>_<group>_<kind>", as in Flux's inventories.
	ID string `json:"id"`
	// Version is the object's API version.
	Version string `json:"v"`
	// Hash is the sha256 of the applied document, truncated.
	// +optional
	Hash string `json:"hash,omitempty"`
}

// WriteBackStatus reports the status writer.
type WriteBackStatus struct {
	// LastPushedCommit is the hash of the last status commit pushed.
	// +optional
	LastPushedCommit string `json:"lastPushedCommit,omitempty"`
	// LastPushTime is when it was pushed.
	// +optional
	LastPushTime *metav1.Time `json:"lastPushTime,omitempty"`
	// LastError of the writer, empty when the last push worked.
	// +optional
	LastError string `json:"lastError,omitempty"`
}

// Fleet binds a Flux source and path to one namespace: every commit of the source becomes
// the L-KaaS objects of that namespace.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=lkf,categories=lkaas
// +kubebuilder:printcolumn:name="Source",type=string,JSONPath=`.spec.sourceRef.name`
// +kubebuilder:printcolumn:name="Revision",type=string,JSONPath=`.status.lastAppliedRevision`
// +kubebuilder:printcolumn:name="Suspended",type=boolean,JSONPath=`.spec.suspend`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Fleet struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   FleetSpec   `json:"spec,omitempty"`
	Status FleetStatus `json:"status,omitempty"`
}

// GetConditions returns the status conditions (fluxcd/pkg/runtime/conditions.Getter).
func (in *Fleet) GetConditions() []metav1.Condition { return in.Status.Conditions }

// SetConditions sets the status conditions (fluxcd/pkg/runtime/conditions.Setter).
func (in *Fleet) SetConditions(c []metav1.Condition) { in.Status.Conditions = c }

// GetRequeueAfter is the interval until the next full reconciliation.
func (in *Fleet) GetRequeueAfter() time.Duration { return in.Spec.Interval.Duration }

// +kubebuilder:object:root=true

// FleetList is a list of Fleet.
type FleetList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Fleet `json:"items"`
}

func init() {
	objectTypes = append(objectTypes, &Fleet{}, &FleetList{})
}
