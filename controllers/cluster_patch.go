package controllers

import (
	"context"

	"github.com/fluxcd/pkg/runtime/conditions"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/internal/apply"
)

// clusterPatcher writes what a pass changed on an L-KaaS Cluster: metadata (finalizer, applied
// objects) in one patch, and the whole status, conditions included, in one status patch. Flux's
// patch helper sends conditions and the other status fields as two patches, so every pass that
// moved the phase cost two status writes; on first apply at 1,000 clusters that was thousands of
// writes on the API server that is busy applying the clusters' CAPI objects.
//
// The status shares the object with the EMCO registrar, which writes status.emco and the
// Registered condition. The status patch replaces the conditions list as a whole, so it is
// locked to a resourceVersion, and the status it is computed against must be the status of
// that same resourceVersion: otherwise a registrar write that landed before the lock's
// resourceVersion would be overwritten with what the pass read before it.
type clusterPatcher struct {
	client client.Client
	// reader reads the latest object around the cache after a conflict.
	reader client.Reader
	// before is the object as the pass read it, advanced by each write: what the pass changed
	// is the difference between it and the pass's object.
	before *automationv1alpha1.Cluster
	// server is the object as the API server last showed it to the pass (its read, or the
	// answer to a write): its status and resourceVersion belong together.
	server *automationv1alpha1.Cluster
}

func newClusterPatcher(c client.Client, reader client.Reader, cluster *automationv1alpha1.Cluster) *clusterPatcher {
	return &clusterPatcher{client: c, reader: reader, before: cluster.DeepCopy(), server: cluster.DeepCopy()}
}

// maxStatusConflicts bounds the retries when another writer (the registrar) changed the status
// between our read and our write.
const maxStatusConflicts = 5

// patch writes metadata, then status, each only when it changed.
func (p *clusterPatcher) patch(ctx context.Context, cluster *automationv1alpha1.Cluster) error {
	if err := p.patchMetadata(ctx, cluster); err != nil {
		return err
	}
	return p.patchStatus(ctx, cluster)
}

// patchMetadata sends the labels, annotations and finalizers the pass changed (a merge patch,
// as Flux's helper does). The answer is the whole object as it now is, someone else's status
// writes included: it becomes what the status patch is computed against and locked to. Of
// cluster only the resource version changes, so the status built so far stays as it is.
func (p *clusterPatcher) patchMetadata(ctx context.Context, cluster *automationv1alpha1.Cluster) error {
	b, a := p.before.ObjectMeta, cluster.ObjectMeta
	if equality.Semantic.DeepEqual(b.Labels, a.Labels) && equality.Semantic.DeepEqual(b.Annotations, a.Annotations) &&
		equality.Semantic.DeepEqual(b.Finalizers, a.Finalizers) {
		return nil
	}
	before := p.before.DeepCopy()
	before.Status = automationv1alpha1.ClusterStatus{}
	after := p.before.DeepCopy()
	after.Status = automationv1alpha1.ClusterStatus{}
	after.Labels, after.Annotations, after.Finalizers = a.Labels, a.Annotations, a.Finalizers
	if err := p.client.Patch(ctx, after, client.MergeFrom(before), client.FieldOwner(apply.DefaultFieldManager)); err != nil {
		return err
	}
	cluster.ResourceVersion = after.ResourceVersion
	p.before.ObjectMeta = *cluster.ObjectMeta.DeepCopy()
	p.server = after
	return nil
}

// patchStatus sends the status in one merge patch, locked to the resource version of the
// object it is computed against. The Cluster controller's fields and conditions come from the
// pass, the registrar's (EMCO record, Registered) from the API server's object. On a conflict
// (the registrar wrote meanwhile) it starts again from the latest object read around the cache.
func (p *clusterPatcher) patchStatus(ctx context.Context, cluster *automationv1alpha1.Cluster) error {
	if equality.Semantic.DeepEqual(p.before.Status, cluster.Status) {
		return nil
	}
	base := p.server
	for attempt := 0; ; attempt++ {
		after := base.DeepCopy()
		after.Status = ownStatusOnto(&base.Status, cluster)
		var err error
		if !equality.Semantic.DeepEqual(base.Status, after.Status) {
			err = p.client.Status().Patch(ctx, after, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}),
				client.FieldOwner(apply.DefaultFieldManager))
		}
		if err == nil {
			cluster.ResourceVersion = after.ResourceVersion
			cluster.Status = after.Status
			p.before = cluster.DeepCopy()
			p.server = after
			return nil
		}
		if !apierrors.IsConflict(err) || attempt >= maxStatusConflicts {
			return err
		}
		latest := &automationv1alpha1.Cluster{}
		if err := p.reader.Get(ctx, client.ObjectKeyFromObject(cluster), latest); err != nil {
			return err
		}
		base = latest
	}
}

// ownStatusOnto is the status to write: the Cluster controller's fields and owned conditions
// from ours, the registrar's (EMCO record, other conditions) from latest.
func ownStatusOnto(latest *automationv1alpha1.ClusterStatus, ours *automationv1alpha1.Cluster) automationv1alpha1.ClusterStatus {
	out := *ours.Status.DeepCopy()
	out.EMCO = latest.EMCO.DeepCopy()
	// conditions.Set stamps the holder's generation on each condition: the one this pass saw.
	holder := &automationv1alpha1.Cluster{}
	holder.Generation = ours.Generation
	holder.Status.Conditions = append([]metav1.Condition(nil), latest.Conditions...)
	for _, t := range clusterOwnedConditions {
		if c := conditions.Get(ours, t); c != nil {
			conditions.Set(holder, c)
		} else {
			conditions.Delete(holder, t)
		}
	}
	out.Conditions = holder.Status.Conditions
	return out
}
