package plan

// Action is what happens to a cluster, a logical cluster or an object.
type Action string

const (
	Added   Action = "added"
	Removed Action = "removed"
	Changed Action = "changed"
)

// Report is what a change does.
type Report struct {
	Base            string                 `json:"base"`
	Head            string                 `json:"head"`
	Clusters        []ClusterChange        `json:"clusters"`
	LogicalClusters []LogicalClusterChange `json:"logicalClusters"`
	Summary         Summary                `json:"summary"`
}

// Summary counts clusters by action.
type Summary struct {
	Added     int `json:"added"`
	Removed   int `json:"removed"`
	Changed   int `json:"changed"`
	Unchanged int `json:"unchanged"`
	// Blocked counts changed clusters whose change breaks a version rule.
	Blocked int `json:"blocked"`
}

// Blocked is a change L-KaaS refuses, with the rule, the place to fix and why.
type Blocked struct {
	Rule string `json:"rule"`
	// At is path:line:col of the field that set the version.
	At      string `json:"at"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

// IsBlocked reports whether any cluster's change breaks a version rule.
func (r *Report) IsBlocked() bool { return r.Summary.Blocked > 0 }

// Empty reports whether the change does nothing to any cluster.
func (r *Report) Empty() bool { return len(r.Clusters) == 0 && len(r.LogicalClusters) == 0 }

// ClusterChange is one cluster that is added, removed or changed.
type ClusterChange struct {
	Namespace      string `json:"namespace"`
	Name           string `json:"name"`
	LogicalCluster string `json:"logicalCluster,omitempty"`
	Action         Action `json:"action"`
	// Existing is true for a cluster built by other means (spec.existing): L-KaaS writes no
	// infrastructure for it and never upgrades it; a version is what Git expects it to run.
	Existing bool `json:"existing,omitempty"`
	// Upgrade is set when the Kubernetes version changes.
	Upgrade *ValueChange `json:"upgrade,omitempty"`
	// Steps are the control-plane versions a chained upgrade goes through, the target last;
	// set only when there is more than one.
	Steps []string `json:"steps,omitempty"`
	// Blocked is set when the change breaks a Kubernetes version rule: L-KaaS will not apply it.
	Blocked *Blocked `json:"blocked,omitempty"`
	// Version is the Kubernetes version of an added or removed cluster.
	Version string `json:"version,omitempty"`
	// Fields lists the other changes people review: machine counts, flavours, profiles.
	Fields  []FieldChange  `json:"fields,omitempty"`
	Objects []ObjectChange `json:"objects,omitempty"`
}

// ValueChange is a before and after.
type ValueChange struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// FieldChange is a named before and after.
type FieldChange struct {
	Field string `json:"field"`
	From  string `json:"from"`
	To    string `json:"to"`
}

// ObjectChange is one rendered object that changes, with a unified diff of its YAML.
type ObjectChange struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Action    Action `json:"action"`
	Diff      string `json:"diff"`
}

// LogicalClusterChange is one logical cluster whose members change.
type LogicalClusterChange struct {
	Namespace      string   `json:"namespace"`
	Name           string   `json:"name"`
	Action         Action   `json:"action"`
	MembersAdded   []string `json:"membersAdded,omitempty"`
	MembersRemoved []string `json:"membersRemoved,omitempty"`
	// Waves are the changed members in the order the rollout takes them.
	Waves []Wave `json:"waves,omitempty"`
	// MaxUnavailable bounds how many members of a wave change at once.
	MaxUnavailable string `json:"maxUnavailable,omitempty"`
}

// Wave is a group of members that roll together.
type Wave struct {
	Wave    int32    `json:"wave"`
	Members []string `json:"members"`
}
