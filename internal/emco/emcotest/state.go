package emcotest

import (
	"maps"
	"slices"
	"time"
)

// metadata is EMCO's metadata block; every key is always emitted.
type metadata struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	UserData1   string `json:"userData1"`
	UserData2   string `json:"userData2"`
}

type project struct {
	Metadata metadata `json:"metadata"`
}

type controllerSpec struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	Type     string `json:"type"`
	Priority int    `json:"priority"`
}

type controller struct {
	Metadata metadata       `json:"metadata"`
	Spec     controllerSpec `json:"spec"`
}

type clusterProvider struct {
	Metadata metadata `json:"metadata"`
}

type gitOps struct {
	GitOpsType            string `json:"gitOpsType"`
	GitOpsReferenceObject string `json:"gitOpsReferenceObject"`
	GitOpsResourceObject  string `json:"gitOpsResourceObject"`
}

type clusterBody struct {
	Metadata metadata `json:"metadata"`
	Spec     struct {
		GitOps gitOps `json:"gitOps"`
	} `json:"spec"`
}

type clusterLabel struct {
	ClusterLabel string `json:"clusterLabel"`
}

type kvPair struct {
	Metadata metadata `json:"metadata"`
	Spec     struct {
		KV []map[string]any `json:"kv"`
	} `json:"spec"`
}

// cluster is a clm cluster with its children.
type cluster struct {
	body       clusterBody
	kubeconfig []byte
	labels     []string
	kvPairs    []*kvPair
}

type providerEntry struct {
	body     clusterProvider
	clusters []*cluster
}

type lcUser struct {
	UserName string `json:"userName"`
	Type     string `json:"type"`
}

type lcSpec struct {
	Namespace string            `json:"namespace"`
	Labels    map[string]string `json:"labels"`
	Level     string            `json:"level"`
	User      lcUser            `json:"user"`
}

type logicalCloudBody struct {
	Metadata metadata `json:"metadata"`
	Spec     lcSpec   `json:"spec"`
}

type referenceSpec struct {
	ClusterProvider string `json:"clusterProvider"`
	Cluster         string `json:"cluster"`
	LoadBalancerIP  string `json:"loadBalancerIP"`
	Certificate     string `json:"certificate"`
}

type clusterReference struct {
	Metadata metadata      `json:"metadata"`
	Spec     referenceSpec `json:"spec"`
}

type userPermission struct {
	Metadata metadata `json:"metadata"`
	Spec     struct {
		Namespace string   `json:"namespace"`
		APIGroups []string `json:"apiGroups"`
		Resources []string `json:"resources"`
		Verbs     []string `json:"verbs"`
	} `json:"spec"`
}

type quota struct {
	Metadata metadata          `json:"metadata"`
	Spec     map[string]string `json:"spec"`
}

type action struct {
	State    string    `json:"state"`
	Instance string    `json:"instance"`
	Time     time.Time `json:"time"`
	Revision int64     `json:"revision"`
}

// logicalCloud is a dcm logical cloud with its children and life-cycle state.
type logicalCloud struct {
	body        logicalCloudBody
	references  []*clusterReference
	permissions []*userPermission
	quotas      []*quota
	kvPairs     []*kvPair
	actions     []action
	statusCtxID string
	contextID   string      // latest app context; "" until first instantiate
	deployed    string      // app-context status as rsync reports it
	ready       string      // readyStatus
	deployedTo  [][2]string // clusters (provider, cluster) of the latest app context
	broken      bool        // a refused DELETE removed its app contexts (real dcm's defect)
}

type projectEntry struct {
	body   project
	clouds []*logicalCloud
}

// ClusterState is a copy of one stored cluster, for assertions.
type ClusterState struct {
	Provider   string
	Name       string
	Kubeconfig []byte
	GitOps     bool
	Labels     []string
	KvPairs    map[string][]map[string]any
}

// ReferenceState is one cluster reference of a logical cloud.
type ReferenceState struct {
	Name, Provider, Cluster string
}

// LogicalCloudState is a copy of one stored logical cloud, for assertions.
type LogicalCloudState struct {
	Project, Name    string
	Level, Namespace string
	UserName         string
	References       []ReferenceState
	Permissions      []string
	Quotas           []string
	KvPairs          []string
	Actions          []string // states in order, e.g. Created, Instantiated, Updated
	DeployedStatus   string
	ReadyStatus      string
	DeployedClusters []string // "provider+cluster" of the current app context
	// Broken: a DELETE while children remained removed its app contexts, as
	// real dcm does; every call that needs them now answers 500.
	Broken bool
}

// State is a copy of everything the emulator stores.
type State struct {
	Projects      []string
	Controllers   map[string]string // name → host:port
	Providers     []string
	Clusters      []ClusterState
	LogicalClouds []LogicalCloudState
}

// Cluster returns the stored cluster, if any.
func (s State) Cluster(provider, name string) (ClusterState, bool) {
	i := slices.IndexFunc(s.Clusters, func(c ClusterState) bool { return c.Provider == provider && c.Name == name })
	if i < 0 {
		return ClusterState{}, false
	}
	return s.Clusters[i], true
}

// LogicalCloud returns the stored logical cloud, if any.
func (s State) LogicalCloud(project, name string) (LogicalCloudState, bool) {
	i := slices.IndexFunc(s.LogicalClouds, func(c LogicalCloudState) bool { return c.Project == project && c.Name == name })
	if i < 0 {
		return LogicalCloudState{}, false
	}
	return s.LogicalClouds[i], true
}

// State returns a deep copy of the stored resources.
func (e *Emulator) State() State {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := State{Controllers: map[string]string{}}
	for _, p := range e.projects {
		st.Projects = append(st.Projects, p.body.Metadata.Name)
		for _, lc := range p.clouds {
			st.LogicalClouds = append(st.LogicalClouds, lc.state(p.body.Metadata.Name))
		}
	}
	for _, c := range e.controllers {
		st.Controllers[c.Metadata.Name] = c.Spec.Host + ":" + itoa(c.Spec.Port)
	}
	for _, pe := range e.providers {
		st.Providers = append(st.Providers, pe.body.Metadata.Name)
		for _, c := range pe.clusters {
			cs := ClusterState{
				Provider: pe.body.Metadata.Name, Name: c.body.Metadata.Name,
				Kubeconfig: slices.Clone(c.kubeconfig), GitOps: c.body.Spec.GitOps.GitOpsType != "",
				Labels: slices.Clone(c.labels), KvPairs: map[string][]map[string]any{},
			}
			for _, kv := range c.kvPairs {
				var list []map[string]any
				for _, m := range kv.Spec.KV {
					list = append(list, maps.Clone(m))
				}
				cs.KvPairs[kv.Metadata.Name] = list
			}
			st.Clusters = append(st.Clusters, cs)
		}
	}
	return st
}

func (lc *logicalCloud) state(projectName string) LogicalCloudState {
	s := LogicalCloudState{
		Project: projectName, Name: lc.body.Metadata.Name,
		Level: lc.body.Spec.Level, Namespace: lc.body.Spec.Namespace, UserName: lc.body.Spec.User.UserName,
		DeployedStatus: lc.deployed, ReadyStatus: lc.ready, Broken: lc.broken,
	}
	for _, r := range lc.references {
		s.References = append(s.References, ReferenceState{Name: r.Metadata.Name, Provider: r.Spec.ClusterProvider, Cluster: r.Spec.Cluster})
	}
	for _, up := range lc.permissions {
		s.Permissions = append(s.Permissions, up.Metadata.Name)
	}
	for _, q := range lc.quotas {
		s.Quotas = append(s.Quotas, q.Metadata.Name)
	}
	for _, kv := range lc.kvPairs {
		s.KvPairs = append(s.KvPairs, kv.Metadata.Name)
	}
	for _, a := range lc.actions {
		s.Actions = append(s.Actions, a.State)
	}
	for _, c := range lc.deployedTo {
		s.DeployedClusters = append(s.DeployedClusters, c[0]+"+"+c[1])
	}
	return s
}
