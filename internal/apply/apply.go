package apply

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// DefaultFieldManager owns every field L-KaaS applies.
const DefaultFieldManager = "lkaas"

// Defaults of Options.
const (
	DefaultConcurrency      = 8
	DefaultCacheSyncTimeout = 10 * time.Second
)

// Options tune an Applier.
type Options struct {
	// Fleet owns what is applied: its name and namespace are stamped as labels, and when
	// Namespace is set, Apply refuses objects of any other namespace.
	Fleet types.NamespacedName

	// FieldManager of server-side apply; defaults to DefaultFieldManager.
	FieldManager string

	// Concurrency is how many requests are in flight at once; defaults to DefaultConcurrency.
	Concurrency int

	// CacheSyncTimeout bounds how long Apply waits for the informer cache to see its own
	// writes, so the next pass compares against them; defaults to DefaultCacheSyncTimeout,
	// a negative value does not wait.
	CacheSyncTimeout time.Duration
}

// Applier applies one Fleet's objects. Keep it across the Fleet's reconciles (for example in a
// map keyed by Fleet): it remembers which live versions it has already compared, so a pass
// compares only objects that changed since the last one. A new Applier is just as correct; its
// first pass compares every object once. Apply and Prune are safe to call concurrently, though
// a Fleet's passes should not overlap.
type Applier struct {
	client client.Client
	cache  client.Reader
	scheme *runtime.Scheme
	opts   Options

	verified verifiedVersions
	prepared preparedMemo
}

// New returns an Applier that writes with c and reads the live state from cache, the manager's
// informer-backed reader; it never reads objects through c.
func New(c client.Client, cache client.Reader, opts Options) *Applier {
	if opts.FieldManager == "" {
		opts.FieldManager = DefaultFieldManager
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	if opts.CacheSyncTimeout == 0 {
		opts.CacheSyncTimeout = DefaultCacheSyncTimeout
	}
	return &Applier{client: c, cache: cache, scheme: c.Scheme(), opts: opts, verified: verifiedVersions{m: map[string]verified{}}}
}

// Apply makes the live objects match desired, the objects of one source revision, and returns
// what it did and the new inventory (sorted by ID). Only objects that are missing, whose
// document changed since prev, or that drifted are applied; the rest cost no request.
//
// Objects go in stages (profiles, catalogs, clusters, logical clusters); a stage with a failed
// object ends the pass. On error, the inventory still lists every desired object, and those
// not applied keep their previous hash (none when new), so the next pass retries them and a
// prune never takes them for stale. Do not prune after a failed Apply.
func (a *Applier) Apply(ctx context.Context, desired []client.Object, prev []InventoryEntry, revision string) (*ChangeSet, []InventoryEntry, error) {
	shard, err := a.fleetShard(ctx)
	if err != nil {
		return nil, nil, err
	}
	objs, err := a.prepared.get(desired, revision, shard, a.prepareAll)
	if err != nil {
		return nil, nil, err
	}
	prevByID := entriesByID(prev)

	var stages [stageCount][]desiredObject
	for _, o := range objs {
		stages[stageOf(o.ref)] = append(stages[stageOf(o.ref)], o)
	}

	changes := &ChangeSet{}
	done := make(map[string]bool, len(objs))
	var writes []written
	var errs []error
	for _, stage := range stages {
		results := a.applyStage(ctx, stage, prevByID)
		for i, r := range results {
			if r.err != nil {
				errs = append(errs, r.err)
				continue
			}
			changes.add(stage[i].ref, r.action)
			done[stage[i].ref.ID()] = true
			if r.action != Unchanged {
				writes = append(writes, written{ref: stage[i].ref, resourceVersion: r.resourceVersion})
			}
		}
		if len(errs) > 0 {
			break
		}
	}
	a.waitForCache(ctx, writes)
	a.verified.retain(desiredIDs(objs))

	entries := make([]InventoryEntry, 0, len(objs))
	for _, o := range objs {
		e := InventoryEntry{ID: o.ref.ID(), Version: o.ref.GVK.Version, Hash: o.hash}
		if !done[e.ID] {
			e.Hash = prevByID[e.ID].Hash
		}
		entries = append(entries, e)
	}
	sortEntries(entries)
	return changes, entries, errors.Join(errs...)
}

// prepareAll converts every desired object, refusing the whole set (before any write) when an
// object is invalid, duplicated or outside the Fleet's namespace.
func (a *Applier) prepareAll(desired []client.Object, revision string, shard shardStamp) ([]desiredObject, error) {
	// Converting and hashing a thousand objects is most of a no-op pass: spread it out.
	prepared := make([]desiredObject, len(desired))
	prepareErrs := make([]error, len(desired))
	forEach(len(desired), a.opts.Concurrency, func(i int) {
		prepared[i], prepareErrs[i] = a.prepare(desired[i], revision, shard)
	})

	objs := make([]desiredObject, 0, len(desired))
	seen := make(map[string]bool, len(desired))
	var errs []error
	for i, o := range prepared {
		if prepareErrs[i] != nil {
			errs = append(errs, prepareErrs[i])
			continue
		}
		if ns := a.opts.Fleet.Namespace; ns != "" && o.ref.Namespace != ns {
			errs = append(errs, fmt.Errorf("%s: a Fleet in namespace %q may only apply objects into that namespace", o.ref, ns))
			continue
		}
		if seen[o.ref.ID()] {
			errs = append(errs, fmt.Errorf("%s: appears more than once", o.ref))
			continue
		}
		seen[o.ref.ID()] = true
		objs = append(objs, o)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	slices.SortFunc(objs, func(x, y desiredObject) int { return strings.Compare(x.ref.ID(), y.ref.ID()) })
	return objs, nil
}

type applyResult struct {
	action          Action
	resourceVersion string
	err             error
}

// applyStage decides and applies the objects of one stage with bounded concurrency; results
// are in the stage's order, so change sets are stable.
func (a *Applier) applyStage(ctx context.Context, stage []desiredObject, prev map[string]InventoryEntry) []applyResult {
	results := make([]applyResult, len(stage))
	forEach(len(stage), a.opts.Concurrency, func(i int) {
		o := stage[i]
		entry, known := prev[o.ref.ID()]
		action, err := a.decide(ctx, o, entry, known)
		if err != nil || action == Unchanged {
			results[i] = applyResult{action: action, err: err}
			return
		}
		rv, err := a.serverSideApply(ctx, o)
		if err == nil {
			a.verified.record(o.ref.ID(), rv, o.hash)
		}
		results[i] = applyResult{action: action, resourceVersion: rv, err: err}
	})
	return results
}

// decide says whether o needs an apply, from the cache and the inventory alone.
func (a *Applier) decide(ctx context.Context, o desiredObject, prev InventoryEntry, known bool) (Action, error) {
	live, found, err := a.cached(ctx, o.ref)
	switch {
	case err != nil:
		return "", err
	case !found:
		return Created, nil
	case a.verified.matches(o.ref.ID(), live.GetResourceVersion(), o.hash):
		// This very version was written or checked by this Applier with this content: it
		// holds, even when the inventory handed in is older (a pass that read the Fleet
		// before the previous pass's status reached the cache).
		return Unchanged, nil
	case (!known || prev.Hash != o.hash) && !a.verified.wrote(o.ref.ID(), o.hash):
		return Configured, nil
	}
	// The inventory says this content was applied, or this Applier applied it itself and the
	// inventory handed in predates that (another controller has written to the object since,
	// so its version changed): only drift of a field we set needs an apply.
	content, err := toMap(live)
	if err != nil {
		return "", fmt.Errorf("%s: %w", o.ref, err)
	}
	if drifted(o.content, content) {
		return Configured, nil
	}
	a.verified.record(o.ref.ID(), live.GetResourceVersion(), o.hash)
	return Unchanged, nil
}

func (a *Applier) serverSideApply(ctx context.Context, o desiredObject) (string, error) {
	// A shallow copy: the response replaces u.Object and the client resets apiVersion/kind on
	// it, neither of which may touch o.content.
	u := &unstructured.Unstructured{Object: maps.Clone(o.content)}
	err := a.client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u),
		client.FieldOwner(a.opts.FieldManager), client.ForceOwnership)
	if err != nil {
		return "", fmt.Errorf("%s: server-side apply: %w", o.ref, err)
	}
	return u.GetResourceVersion(), nil
}

// forEach runs fn(0..n-1) on at most workers goroutines and waits for all of them.
func forEach(n, workers int, fn func(i int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Go(func() {
			for i := range next {
				fn(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

func desiredIDs(objs []desiredObject) map[string]bool {
	ids := make(map[string]bool, len(objs))
	for _, o := range objs {
		ids[o.ref.ID()] = true
	}
	return ids
}
