package emco

import (
	"context"
	"fmt"
)

// DetachCluster removes every reference to a cluster from the logical clouds of a project,
// so that clm lets the cluster go (contract §7, step 6). Per logical cloud, in the order dcm
// demands:
//
//   - not instantiated: delete the references;
//   - instantiated with other clusters left: delete the references, then POST /update;
//   - instantiated and this is its last cluster: terminate first (deleting the last
//     reference of an instantiated cloud strands it, §4.5), then delete the references.
//
// While a logical cloud is instantiating, updating or terminating it returns
// ErrLogicalCloudBusy: call it again later. It reports whether it changed anything.
func (c *Client) DetachCluster(ctx context.Context, project, provider, cluster string) (Change, error) {
	clouds, err := c.ListLogicalClouds(ctx, project)
	if err != nil {
		return Unchanged, ignoreNotFound(err)
	}
	change := Unchanged
	for _, lc := range clouds {
		detached, err := c.detachFrom(ctx, project, lc.Metadata.Name, provider, cluster)
		if err != nil {
			return change, err
		}
		if detached {
			change = Updated
		}
	}
	return change, nil
}

func (c *Client) detachFrom(ctx context.Context, project, lc, provider, cluster string) (bool, error) {
	refs, err := c.ListClusterReferences(ctx, project, lc)
	if err != nil {
		return false, err
	}
	var mine []ClusterReference
	for _, r := range refs {
		if r.Spec.ClusterProvider == provider && r.Spec.Cluster == cluster {
			mine = append(mine, r)
		}
	}
	if len(mine) == 0 {
		return false, nil
	}
	st, err := c.LogicalCloudStatus(ctx, project, lc)
	if err != nil {
		return false, err
	}
	if st.InProgress() {
		return false, fmt.Errorf("%w: %s/%s is %s", ErrLogicalCloudBusy, project, lc, st.DeployedStatus)
	}
	instantiated := st.IsInstantiated()
	if instantiated && len(mine) == len(refs) {
		if err := c.TerminateLogicalCloud(ctx, project, lc); err != nil {
			return false, busyIfConflict(err)
		}
		if st, err = c.LogicalCloudStatus(ctx, project, lc); err != nil {
			return true, err
		}
		if st.InProgress() {
			return true, fmt.Errorf("%w: %s/%s is %s", ErrLogicalCloudBusy, project, lc, st.DeployedStatus)
		}
		instantiated = false
	}
	for _, r := range mine {
		if err := c.DeleteClusterReference(ctx, project, lc, r.Metadata.Name); err != nil {
			return true, busyIfConflict(err)
		}
	}
	if instantiated {
		return true, c.UpdateLogicalCloud(ctx, project, lc)
	}
	return true, nil
}
