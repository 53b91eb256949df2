package apply

import (
	"context"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
)

// DefaultMaxClusterDeletionPercent applies when a Fleet has no deletion guard.
const DefaultMaxClusterDeletionPercent = 50

// ClusterDeletion is how many of a Fleet's clusters a revision would delete.
type ClusterDeletion struct {
	// Total clusters before the revision: Cluster objects plus the members of LogicalClusters.
	Total int
	// Deleted of those by the revision: removed Clusters, all members of removed
	// LogicalClusters and members removed from kept ones.
	Deleted int
}

// DeletionHeldError is returned while the deletion guard holds a revision back.
type DeletionHeldError struct {
	Revision   string
	Deletion   ClusterDeletion
	MaxPercent int32
}

func (e *DeletionHeldError) Error() string {
	approve := fmt.Sprintf("approve with annotation %s=%s", automationv1alpha1.ApproveDeletionAnnotation, e.Revision)
	if e.Deletion.Deleted == e.Deletion.Total {
		return fmt.Sprintf("revision %s would delete all %d clusters of the fleet; %s",
			e.Revision, e.Deletion.Total, approve)
	}
	percent := (e.Deletion.Deleted*100 + e.Deletion.Total/2) / e.Deletion.Total
	return fmt.Sprintf("revision %s would delete %d of %d clusters (%d%%), more than the allowed %d%%; %s",
		e.Revision, e.Deletion.Deleted, e.Deletion.Total, percent, e.MaxPercent, approve)
}

// CheckDeletionGuard holds back (*DeletionHeldError) a revision that deletes more than the
// guard's share of the clusters, or all of them, unless approvedRevision (the Fleet's
// ApproveDeletionAnnotation) names this very revision. A nil guard allows 50%; a guard's
// MaxClusterDeletionPercent is taken as stored, 0 included (the API server defaults it to 50
// when it is left out).
func CheckDeletionGuard(d ClusterDeletion, guard *automationv1alpha1.DeletionGuard, approvedRevision, revision string) error {
	if d.Deleted == 0 || d.Total == 0 {
		return nil
	}
	if approvedRevision != "" && approvedRevision == revision {
		return nil
	}
	maxPercent := int32(DefaultMaxClusterDeletionPercent)
	if guard != nil {
		maxPercent = guard.MaxClusterDeletionPercent
	}
	if d.Deleted >= d.Total || d.Deleted*100 > int(maxPercent)*d.Total {
		return &DeletionHeldError{Revision: revision, Deletion: d, MaxPercent: maxPercent}
	}
	return nil
}

// PlanClusterDeletion counts the clusters a revision deletes: prev is the applied inventory,
// desired the revision's objects. A LogicalCluster's members are read from its live object in
// the cache (what removing it would delete) and from its desired object; no API request.
func (a *Applier) PlanClusterDeletion(ctx context.Context, prev []InventoryEntry, desired []client.Object) (ClusterDeletion, error) {
	// Only a LogicalCluster's content matters here (its members); the rest need only an ID.
	next := make(map[string]map[string]any, len(desired))
	for _, obj := range desired {
		gvk, err := apiutil.GVKForObject(obj, a.scheme)
		if err != nil {
			return ClusterDeletion{}, fmt.Errorf("%s: unknown kind: %w", obj.GetName(), err)
		}
		ref := ObjectRef{Namespace: obj.GetNamespace(), Name: obj.GetName(), GVK: gvk}
		var content map[string]any
		if isLogicalCluster(ref) {
			if content, err = toMap(obj); err != nil {
				return ClusterDeletion{}, fmt.Errorf("%s: %w", ref, err)
			}
		}
		next[ref.ID()] = content
	}

	var d ClusterDeletion
	for _, e := range prev {
		ref, err := ParseEntry(e)
		if err != nil {
			return ClusterDeletion{}, err
		}
		nextContent, kept := next[e.ID]
		switch {
		case isCluster(ref):
			d.Total++
			if !kept {
				d.Deleted++
			}
		case isLogicalCluster(ref):
			live, found, err := a.cachedContent(ctx, ref)
			if err != nil {
				return ClusterDeletion{}, err
			}
			if !found {
				continue // already gone: its members are not ours to count any more
			}
			members := memberNames(live)
			d.Total += len(members)
			remaining := map[string]bool{}
			if kept {
				for _, m := range memberNames(nextContent) {
					remaining[m] = true
				}
			}
			for _, m := range members {
				if !remaining[m] {
					d.Deleted++
				}
			}
		}
	}
	return d, nil
}

// memberNames reads spec.clusters[*].name of a LogicalCluster.
func memberNames(content map[string]any) []string {
	spec, _ := content["spec"].(map[string]any)
	clusters, _ := spec["clusters"].([]any)
	names := make([]string, 0, len(clusters))
	for _, c := range clusters {
		if m, ok := c.(map[string]any); ok {
			if name, ok := m["name"].(string); ok {
				names = append(names, name)
			}
		}
	}
	return names
}
