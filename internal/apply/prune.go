package apply

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Prune deletes the objects of stale (see Stale) with background propagation, dependents
// first: logical clusters, clusters, catalogs, then profiles. An object already gone counts as
// deleted without a request; an object that another Fleet's labels now claim is skipped; the
// delete is conditional on the UID the cache knows, so an object recreated meanwhile survives.
func (a *Applier) Prune(ctx context.Context, stale []InventoryEntry) (*ChangeSet, error) {
	var stages [stageCount][]ObjectRef
	var errs []error
	for _, e := range stale {
		ref, err := ParseEntry(e)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		stages[stageOf(ref)] = append(stages[stageOf(ref)], ref)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	changes := &ChangeSet{}
	for s := stageCount - 1; s >= 0; s-- {
		refs := stages[s]
		results := make([]applyResult, len(refs))
		forEach(len(refs), a.opts.Concurrency, func(i int) {
			action, err := a.delete(ctx, refs[i])
			results[i] = applyResult{action: action, err: err}
		})
		for i, r := range results {
			if r.err != nil {
				errs = append(errs, r.err)
				continue
			}
			changes.add(refs[i], r.action)
		}
	}
	return changes, errors.Join(errs...)
}

func (a *Applier) delete(ctx context.Context, ref ObjectRef) (Action, error) {
	live, found, err := a.cached(ctx, ref)
	if err != nil {
		return "", err
	}
	if !found {
		a.verified.forget(ref.ID())
		return Deleted, nil
	}
	if owner, ok := FleetFor(live); ok && a.opts.Fleet.Name != "" && owner != a.opts.Fleet {
		return Skipped, nil
	}
	uid := live.GetUID()
	err = a.client.Delete(ctx, live.DeepCopyObject().(client.Object), // live is the cache's own copy
		client.PropagationPolicy(metav1.DeletePropagationBackground),
		client.Preconditions{UID: &uid})
	switch {
	case err == nil, apierrors.IsNotFound(err):
		a.verified.forget(ref.ID())
		return Deleted, nil
	case apierrors.IsConflict(err):
		return Skipped, nil // another object of that name, created after ours
	}
	return "", fmt.Errorf("%s: delete: %w", ref, err)
}
