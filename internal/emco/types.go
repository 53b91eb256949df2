package emco

// Metadata is the metadata block every EMCO resource carries. EMCO always
// returns all four keys, empty when unset.
type Metadata struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	UserData1   string `json:"userData1"`
	UserData2   string `json:"userData2"`
}

// Project is an orchestrator project; logical clouds live inside one.
type Project struct {
	Metadata Metadata `json:"metadata"`
}

// Controller is an orchestrator controller entry. dcm finds rsync's gRPC
// endpoint through the entry named exactly "rsync".
type Controller struct {
	Metadata Metadata       `json:"metadata"`
	Spec     ControllerSpec `json:"spec"`
}

// ControllerSpec locates a controller's gRPC endpoint.
type ControllerSpec struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	Type     string `json:"type,omitempty"`
	Priority int    `json:"priority,omitempty"`
}

// RsyncControllerName is the controller name dcm looks up before instantiating.
const RsyncControllerName = "rsync"

// RsyncDefaultPort is rsync's gRPC control port.
const RsyncDefaultPort = 9031

// ClusterProvider groups clusters in clm.
type ClusterProvider struct {
	Metadata Metadata `json:"metadata"`
}

// Cluster is a clm cluster. Its kubeconfig travels separately (multipart).
type Cluster struct {
	Metadata Metadata    `json:"metadata"`
	Spec     ClusterSpec `json:"spec"`
}

// ClusterSpec only carries GitOps settings; kubeconfig clusters leave it empty.
type ClusterSpec struct {
	GitOps GitOpsSpec `json:"gitOps"`
}

// GitOpsSpec names the GitOps agent and the sync objects of a GitOps cluster.
type GitOpsSpec struct {
	GitOpsType            string `json:"gitOpsType"`
	GitOpsReferenceObject string `json:"gitOpsReferenceObject"`
	GitOpsResourceObject  string `json:"gitOpsResourceObject"`
}

// ClusterLabel is the body of a clm label ("clusterLabel", not the pre-21.09 "label-name").
type ClusterLabel struct {
	ClusterLabel string `json:"clusterLabel"`
}

// ClusterKvPair is a named set of key/value pairs on a cluster. KV is a list of
// single-key objects, as EMCO stores it.
type ClusterKvPair struct {
	Metadata Metadata    `json:"metadata"`
	Spec     KvPairsSpec `json:"spec"`
}

// KvPairsSpec holds the key/value list.
type KvPairsSpec struct {
	KV []map[string]any `json:"kv"`
}

// Logical cloud levels.
const (
	LevelAdmin    = "0" // reuses the cluster-admin kubeconfig; nothing created in clusters
	LevelStandard = "1" // namespace, user certificate, roles and quotas per cluster
)

// LogicalCloud is a dcm logical cloud.
type LogicalCloud struct {
	Metadata Metadata         `json:"metadata"`
	Spec     LogicalCloudSpec `json:"spec"`
}

// LogicalCloudSpec is the logical cloud's specification. EMCO defaults Level to "1".
type LogicalCloudSpec struct {
	Namespace string            `json:"namespace"`
	Labels    map[string]string `json:"labels"`
	Level     string            `json:"level"`
	User      User              `json:"user"`
}

// User is the level-1 user a certificate is issued for (userName ≤ 20 chars).
type User struct {
	UserName string `json:"userName"`
	Type     string `json:"type"`
}

// ClusterReference puts a clm cluster into a logical cloud.
type ClusterReference struct {
	Metadata Metadata             `json:"metadata"`
	Spec     ClusterReferenceSpec `json:"spec"`
}

// ClusterReferenceSpec names the referenced cluster.
type ClusterReferenceSpec struct {
	ClusterProvider string `json:"clusterProvider"`
	Cluster         string `json:"cluster"`
	LoadBalancerIP  string `json:"loadBalancerIP"`
	Certificate     string `json:"certificate"`
}

// UserPermission grants the level-1 user verbs on resources in a namespace
// (an empty namespace makes it cluster-wide).
type UserPermission struct {
	Metadata Metadata           `json:"metadata"`
	Spec     UserPermissionSpec `json:"spec"`
}

// UserPermissionSpec is a Role in EMCO's words.
type UserPermissionSpec struct {
	Namespace string   `json:"namespace"`
	APIGroups []string `json:"apiGroups"`
	Resources []string `json:"resources"`
	Verbs     []string `json:"verbs"`
}

// Change reports what an EnsureX operation had to do.
type Change string

// Changes an EnsureX operation reports.
const (
	Unchanged Change = ""         // EMCO already held the wanted state; nothing was written
	Created   Change = "created"  // the resource did not exist and was created
	Updated   Change = "updated"  // the resource existed and was converged in place
	Replaced  Change = "replaced" // the resource had to be deleted and re-created
)
