// Package apply is the Fleet's apply engine: it turns the desired L-KaaS objects of one source
// revision into server-side apply requests, keeps the Fleet's inventory, prunes what a
// revision removed and holds back a revision that would delete too many clusters.
//
// The design goal is that a pass over an unchanged fleet costs nothing: no write, no dry-run
// and no request per object. Flux's kustomize-controller GETs and dry-runs every object on
// every pass; here, change detection is local:
//
//   - Each inventory entry carries a hash of what was last applied (sha256 of the object's
//     canonical JSON: apiVersion, kind, namespace, name, labels, annotations and every
//     top-level field but status). A document whose hash changed is applied.
//   - Each desired object is looked up in the manager's informer cache. A missing object is
//     applied, and so is one that drifted: a field we set has another value live, or is gone.
//     Fields we never set (API-server defaults, other managers' fields) are not drift, as in
//     server-side apply, where they are not ours.
//   - Everything else is unchanged and costs no request at all. An Applier also remembers the
//     resourceVersion it last wrote or verified per object, so a long-lived Applier compares
//     field by field only the objects that changed since its last pass.
//   - Apply returns once the cache has seen its own writes, so the next pass never mistakes a
//     stale cache for drift.
//
// The source-revision annotation records the revision whose content an object carries. It is
// left out of the hash and of the drift check on purpose: an object whose content did not
// change in a new commit keeps its older stamp instead of being re-applied to bump it, or a
// one-cluster change would rewrite a thousand objects.
//
// Every applied object is labelled with its Fleet (FleetNameLabel, FleetNamespaceLabel), so
// the Fleet controller can map watch events on L-KaaS objects back to the Fleet (FleetFor,
// EnqueueOwningFleet, DriftPredicate) and correct drift from events rather than polling.
package apply
