package emco

import (
	"context"
	"errors"
	"fmt"
)

// ClusterSnapshot is everything attached to a cluster that clm and dcm make
// us remove before the cluster can be deleted and re-created.
type ClusterSnapshot struct {
	Labels     []string
	KvPairs    []ClusterKvPair
	References []LogicalCloudReference
	// Instantiated lists the logical clouds (of References) that were
	// instantiated and therefore get an /update once references are back.
	Instantiated []string
}

// LogicalCloudReference is a cluster reference together with its logical cloud.
type LogicalCloudReference struct {
	LogicalCloud string
	Reference    ClusterReference
}

// RotationError reports a kubeconfig replacement that stopped part way. Stage
// says where; Snapshot is what was attached before, so a caller can restore it.
type RotationError struct {
	Stage    string
	Snapshot ClusterSnapshot
	Err      error
}

func (e *RotationError) Error() string {
	return fmt.Sprintf("emco: replacing kubeconfig failed while %s: %v", e.Stage, e.Err)
}

func (e *RotationError) Unwrap() error { return e.Err }

// ReplaceClusterKubeconfig swaps the kubeconfig clm holds for a cluster. clm
// has no PUT and refuses to delete a cluster that still has labels, kv-pairs
// or dcm references, so, as the contract requires (§2.3, §7):
//
//  1. remember labels, kv-pairs and the references from reg.Project's logical clouds;
//  2. delete the references, then the labels and kv-pairs;
//  3. delete the cluster and create it again with the new kubeconfig;
//  4. restore kv-pairs, labels and references;
//  5. POST /update on each logical cloud that was instantiated.
//
// If a step before the cluster delete fails, what was removed is put back. A
// logical cloud that is instantiating or terminating stops it up front with
// ErrLogicalCloudBusy. Failures come back as *RotationError.
func (c *Client) ReplaceClusterKubeconfig(ctx context.Context, reg ClusterRegistration) (*ClusterSnapshot, error) {
	cp, name := reg.Provider, reg.Cluster.Name
	snap, err := c.snapshotCluster(ctx, reg)
	if err != nil {
		return nil, &RotationError{Stage: "reading what is attached to the cluster", Err: err}
	}
	fail := func(stage string, err error) (*ClusterSnapshot, error) {
		return snap, &RotationError{Stage: stage, Snapshot: *snap, Err: err}
	}

	var removed ClusterSnapshot
	undo := func(stage string, err error) (*ClusterSnapshot, error) {
		if restoreErr := c.restoreCluster(ctx, reg, &removed); restoreErr != nil {
			err = errors.Join(err, fmt.Errorf("restoring: %w", restoreErr))
		}
		return fail(stage, err)
	}
	for _, ref := range snap.References {
		if err := c.DeleteClusterReference(ctx, reg.Project, ref.LogicalCloud, ref.Reference.Metadata.Name); err != nil {
			return undo("removing cluster references", busyIfConflict(err))
		}
		removed.References = append(removed.References, ref)
	}
	for _, l := range snap.Labels {
		if err := c.DeleteClusterLabel(ctx, cp, name, l); err != nil {
			return undo("removing labels", err)
		}
		removed.Labels = append(removed.Labels, l)
	}
	for _, kv := range snap.KvPairs {
		if err := c.DeleteClusterKvPair(ctx, cp, name, kv.Metadata.Name); err != nil {
			return undo("removing kv-pairs", err)
		}
		removed.KvPairs = append(removed.KvPairs, kv)
	}
	if err := c.delete(ctx, CLM, p("cluster-providers", cp, "clusters", name)); err != nil && !IsNotFound(err) {
		return undo("deleting the cluster", err)
	}

	if err := c.CreateCluster(ctx, cp, Cluster{Metadata: reg.Cluster}, reg.Kubeconfig); err != nil && !IsConflict(err) {
		return fail("re-creating the cluster", err)
	}
	if err := c.restoreCluster(ctx, reg, snap); err != nil {
		return fail("restoring labels, kv-pairs and references", err)
	}
	for _, lc := range snap.Instantiated {
		if err := c.UpdateLogicalCloud(ctx, reg.Project, lc); err != nil {
			return fail("updating logical cloud "+lc, err)
		}
	}
	return snap, nil
}

// snapshotCluster reads labels, kv-pairs and the references to the cluster.
func (c *Client) snapshotCluster(ctx context.Context, reg ClusterRegistration) (*ClusterSnapshot, error) {
	cp, name := reg.Provider, reg.Cluster.Name
	var snap ClusterSnapshot
	var err error
	if snap.Labels, err = c.ListClusterLabels(ctx, cp, name); err != nil {
		return nil, err
	}
	if snap.KvPairs, err = c.ListClusterKvPairs(ctx, cp, name); err != nil {
		return nil, err
	}
	if reg.Project == "" {
		return &snap, nil
	}
	clouds, err := c.ListLogicalClouds(ctx, reg.Project)
	if err != nil {
		return nil, err
	}
	for _, lc := range clouds {
		lcName := lc.Metadata.Name
		refs, err := c.ListClusterReferences(ctx, reg.Project, lcName)
		if err != nil {
			return nil, err
		}
		var mine []ClusterReference
		for _, r := range refs {
			if r.Spec.ClusterProvider == cp && r.Spec.Cluster == name {
				mine = append(mine, r)
			}
		}
		if len(mine) == 0 {
			continue
		}
		st, err := c.LogicalCloudStatus(ctx, reg.Project, lcName)
		if err != nil {
			return nil, err
		}
		if st.InProgress() {
			return nil, fmt.Errorf("%w: %s/%s is %s", ErrLogicalCloudBusy, reg.Project, lcName, st.DeployedStatus)
		}
		if st.IsInstantiated() {
			snap.Instantiated = append(snap.Instantiated, lcName)
		}
		for _, r := range mine {
			snap.References = append(snap.References, LogicalCloudReference{LogicalCloud: lcName, Reference: r})
		}
	}
	return &snap, nil
}

// restoreCluster re-adds what snap lists; 409 means it is already there.
func (c *Client) restoreCluster(ctx context.Context, reg ClusterRegistration, snap *ClusterSnapshot) error {
	cp, name := reg.Provider, reg.Cluster.Name
	var errs []error
	for _, kv := range snap.KvPairs {
		if err := c.CreateClusterKvPair(ctx, cp, name, kv); err != nil && !IsConflict(err) {
			errs = append(errs, err)
		}
	}
	for _, l := range snap.Labels {
		if err := c.AddClusterLabel(ctx, cp, name, l); err != nil && !IsConflict(err) {
			errs = append(errs, err)
		}
	}
	for _, ref := range snap.References {
		if err := c.createReference(ctx, reg.Project, ref.LogicalCloud, ref.Reference); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
