package emco

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"
)

// Logical cloud states as dcm records them (states.actions[].state).
const (
	StateCreated            = "Created"
	StateInstantiated       = "Instantiated"
	StateUpdated            = "Updated"
	StateTerminated         = "Terminated"
	StateInstantiateStopped = "InstantiateStopped"
	StateTerminateStopped   = "TerminateStopped"
)

// Deployed statuses (the app context as rsync reports it).
const (
	DeployedInstantiating     = "Instantiating"
	DeployedInstantiated      = "Instantiated"
	DeployedTerminating       = "Terminating"
	DeployedTerminated        = "Terminated"
	DeployedInstantiateFailed = "InstantiateFailed"
	DeployedTerminateFailed   = "TerminateFailed"
	DeployedUpdating          = "Updating"
)

// LogicalCloudStatus is dcm's status answer for a logical cloud.
type LogicalCloudStatus struct {
	Project        string         `json:"project"`
	Name           string         `json:"name"`
	States         StateInfo      `json:"states"`
	DeployedStatus string         `json:"deployedStatus,omitempty"`
	ReadyStatus    string         `json:"readyStatus,omitempty"`
	DeployedCounts map[string]int `json:"deployedCounts,omitempty"`
	ReadyCounts    map[string]int `json:"readyCounts,omitempty"`
}

// StateInfo is the history of life-cycle actions on a logical cloud.
type StateInfo struct {
	StatusContextID string        `json:"statusctxid"`
	Actions         []StateAction `json:"actions"`
}

// StateAction is one life-cycle action.
type StateAction struct {
	State    string    `json:"state"`
	Instance string    `json:"instance"`
	Time     time.Time `json:"time"`
	Revision int64     `json:"revision"`
}

// LastState is the state of the latest action ("" when dcm recorded none).
func (s *LogicalCloudStatus) LastState() string {
	if len(s.States.Actions) == 0 {
		return ""
	}
	return s.States.Actions[len(s.States.Actions)-1].State
}

// IsInstantiated reports whether the cloud was instantiated (or updated) and
// not terminated since: references then need /update to take effect.
func (s *LogicalCloudStatus) IsInstantiated() bool {
	last := s.LastState()
	return last == StateInstantiated || last == StateUpdated
}

// InProgress reports whether rsync is still instantiating, updating or
// terminating; dcm refuses most changes meanwhile.
func (s *LogicalCloudStatus) InProgress() bool {
	switch s.DeployedStatus {
	case DeployedInstantiating, DeployedTerminating, DeployedUpdating:
		return true
	}
	return false
}

// LogicalCloudStatus reads the deployed summary status (status=deployed), on
// which every life-cycle decision rests. Real dcm leaves ReadyStatus out of
// this answer (contract §4.4); LogicalCloudStatusWithReadiness fills it.
func (c *Client) LogicalCloudStatus(ctx context.Context, project, lc string) (*LogicalCloudStatus, error) {
	var out LogicalCloudStatus
	q := url.Values{"status": {"deployed"}, "output": {"summary"}}
	if err := c.getJSON(ctx, DCM, lcPath(project, lc, "status"), q, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// LogicalCloudStatusWithReadiness is LogicalCloudStatus plus dcm's
// readiness: real dcm reports readyStatus only when asked status=ready, so it
// takes a second read (contract §4.4). A cloud never instantiated has none.
func (c *Client) LogicalCloudStatusWithReadiness(ctx context.Context, project, lc string) (*LogicalCloudStatus, error) {
	st, err := c.LogicalCloudStatus(ctx, project, lc)
	if err != nil || st.DeployedStatus == "" {
		return st, err
	}
	var ready LogicalCloudStatus
	q := url.Values{"status": {"ready"}, "output": {"summary"}}
	if err := c.getJSON(ctx, DCM, lcPath(project, lc, "status"), q, &ready); err != nil {
		return nil, err
	}
	st.ReadyStatus, st.ReadyCounts = ready.ReadyStatus, ready.ReadyCounts
	return st, nil
}

// ClusterName is a provider-qualified cluster name.
type ClusterName struct {
	Provider string `json:"clusterProvider"`
	Cluster  string `json:"cluster"`
}

// DeployedClusters lists the clusters of the cloud's current deployment (the
// app context rsync was last given), which may lag behind the references.
func (c *Client) DeployedClusters(ctx context.Context, project, lc string) ([]ClusterName, error) {
	var out struct {
		ClustersByApp []struct {
			App      string        `json:"app"`
			Clusters []ClusterName `json:"clusters"`
		} `json:"clustersByApp"`
	}
	if err := c.getJSON(ctx, DCM, lcPath(project, lc, "status"), url.Values{"clusters": {""}}, &out); err != nil {
		return nil, err
	}
	var names []ClusterName
	for _, app := range out.ClustersByApp {
		names = append(names, app.Clusters...)
	}
	return names, nil
}

// InstantiateLogicalCloud deploys the cloud to its referenced clusters (202).
func (c *Client) InstantiateLogicalCloud(ctx context.Context, project, lc string) error {
	return c.sendJSON(ctx, DCM, http.MethodPost, lcPath(project, lc, "instantiate"), nil, nil)
}

// UpdateLogicalCloud re-deploys an instantiated cloud after its references
// changed (202). On a cloud that is not fully instantiated dcm silently does nothing.
func (c *Client) UpdateLogicalCloud(ctx context.Context, project, lc string) error {
	return c.sendJSON(ctx, DCM, http.MethodPost, lcPath(project, lc, "update"), nil, nil)
}

// TerminateLogicalCloud removes the cloud from its clusters (202). It needs
// the cluster references still in place.
func (c *Client) TerminateLogicalCloud(ctx context.Context, project, lc string) error {
	return c.sendJSON(ctx, DCM, http.MethodPost, lcPath(project, lc, "terminate"), nil, nil)
}

// StopLogicalCloud asks dcm to stop a pending instantiate or terminate (200).
func (c *Client) StopLogicalCloud(ctx context.Context, project, lc string) error {
	return c.sendJSON(ctx, DCM, http.MethodPost, lcPath(project, lc, "stop"), nil, nil)
}

// EnsureLogicalCloudDeployed brings the deployment in line with the references:
// instantiate a cloud that never was (or was terminated) once it has
// references, and update an instantiated one whose deployed clusters differ
// from its references. The comparison reads the deployed clusters from dcm, so
// a restart between changing references and updating still converges, and an
// unchanged cloud costs three reads and no write. While rsync is busy it
// returns ErrLogicalCloudBusy.
func (c *Client) EnsureLogicalCloudDeployed(ctx context.Context, project, lc string) (Change, error) {
	refs, err := c.ListClusterReferences(ctx, project, lc)
	if err != nil {
		return Unchanged, err
	}
	st, err := c.LogicalCloudStatus(ctx, project, lc)
	if err != nil {
		return Unchanged, err
	}
	switch {
	case st.InProgress():
		return Unchanged, fmt.Errorf("%w: %s/%s is %s", ErrLogicalCloudBusy, project, lc, st.DeployedStatus)
	case st.DeployedStatus == DeployedInstantiateFailed || st.LastState() == StateInstantiateStopped:
		return Unchanged, fmt.Errorf("emco: logical cloud %s/%s is %s/%s; terminate it before deploying again",
			project, lc, st.LastState(), st.DeployedStatus)
	case !st.IsInstantiated():
		if len(refs) == 0 {
			return Unchanged, nil
		}
		return changeIf(c.InstantiateLogicalCloud(ctx, project, lc), Created)
	}
	deployed, err := c.DeployedClusters(ctx, project, lc)
	if err != nil {
		return Unchanged, err
	}
	if sameClusterSet(deployed, refs) {
		return Unchanged, nil
	}
	return changeIf(c.UpdateLogicalCloud(ctx, project, lc), Updated)
}

func sameClusterSet(deployed []ClusterName, refs []ClusterReference) bool {
	key := func(provider, cluster string) string { return provider + "+" + cluster }
	a := make([]string, 0, len(deployed))
	for _, n := range deployed {
		a = append(a, key(n.Provider, n.Cluster))
	}
	b := make([]string, 0, len(refs))
	for _, r := range refs {
		b = append(b, key(r.Spec.ClusterProvider, r.Spec.Cluster))
	}
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

// DeleteLogicalCloud removes a logical cloud in the order dcm demands:
// terminate it while its references still exist, then remove every child
// (references, user permissions, quotas, kv-pairs), then the cloud. The order
// is not only dcm's wish: a DELETE of a terminated cloud that still has a
// child is refused with 409 after dcm has already dropped the cloud's app
// contexts, and the cloud is broken for good (contract §4.5). It returns
// ErrLogicalCloudBusy while rsync is still terminating; call it again later.
// A missing cloud is not an error.
func (c *Client) DeleteLogicalCloud(ctx context.Context, project, lc string) error {
	if _, err := c.GetLogicalCloud(ctx, project, lc); err != nil {
		return ignoreNotFound(err)
	}
	st, err := c.LogicalCloudStatus(ctx, project, lc)
	if err != nil {
		return err
	}
	if st.InProgress() {
		return fmt.Errorf("%w: %s/%s is %s", ErrLogicalCloudBusy, project, lc, st.DeployedStatus)
	}
	if st.IsInstantiated() || st.DeployedStatus == DeployedInstantiateFailed || st.LastState() == StateInstantiateStopped {
		if err := c.TerminateLogicalCloud(ctx, project, lc); err != nil {
			if isNoClusterReferences(err) {
				return fmt.Errorf("emco: logical cloud %s/%s is instantiated without cluster references and cannot be terminated until one is re-added (contract §4.5): %w", project, lc, err)
			}
			return err
		}
		if st, err = c.LogicalCloudStatus(ctx, project, lc); err != nil {
			return err
		}
		if st.InProgress() {
			return fmt.Errorf("%w: %s/%s is %s", ErrLogicalCloudBusy, project, lc, st.DeployedStatus)
		}
	}
	if err := c.deleteLogicalCloudChildren(ctx, project, lc); err != nil {
		return err
	}
	return ignoreNotFound(c.delete(ctx, DCM, lcPath(project, lc)))
}

// logicalCloudChildren are the kinds dcm keeps under a logical cloud; each
// blocks the cloud's delete while one is left.
var logicalCloudChildren = []string{"cluster-references", "user-permissions", "cluster-quotas", "kv-pairs"}

// deleteLogicalCloudChildren deletes every child of a logical cloud, stopping
// at the first failure so that the cloud itself is never asked to go while a
// child is left.
func (c *Client) deleteLogicalCloudChildren(ctx context.Context, project, lc string) error {
	for _, kind := range logicalCloudChildren {
		var children []struct {
			Metadata Metadata `json:"metadata"`
		}
		err := c.getJSON(ctx, DCM, lcPath(project, lc, kind), nil, &children)
		if kind == "cluster-references" && isNoClusterReferences(err) {
			continue // dcm's answer for "none"
		}
		if err != nil {
			return err
		}
		for _, child := range children {
			if err := ignoreNotFound(c.delete(ctx, DCM, lcPath(project, lc, kind, child.Metadata.Name))); err != nil {
				return fmt.Errorf("emco: deleting %s %s of logical cloud %s/%s: %w", kind, child.Metadata.Name, project, lc, err)
			}
		}
	}
	return nil
}
