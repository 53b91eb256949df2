package controllers

import (
	"context"
	"errors"
	"path"
	"sync"

	"github.com/fluxcd/pkg/apis/meta"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/internal/apply"
	"github.com/dcn-ssu/lkaas/internal/loader"
	"github.com/dcn-ssu/lkaas/internal/repofiles"
	"github.com/dcn-ssu/lkaas/internal/resolve"
)

// BuildCache keeps the last valid build of each Fleet, keyed by the Fleet's generation and
// the artifact's digest, so a pass over an unchanged revision (the periodic drift check, a
// cluster changing phase) neither downloads nor parses anything.
type BuildCache struct {
	mu     sync.Mutex
	builds map[types.NamespacedName]build
	// loads keep each Fleet's parsed files between revisions, so a new revision parses only
	// the files whose content changed.
	loads map[types.NamespacedName]*fleetLoads
}

type fleetLoads struct {
	mu        sync.Mutex
	namespace string
	cache     *loader.Cache
}

type build struct {
	generation int64
	digest     string
	objects    []client.Object
}

// NewBuildCache returns an empty cache.
func NewBuildCache() *BuildCache {
	return &BuildCache{builds: map[types.NamespacedName]build{}, loads: map[types.NamespacedName]*fleetLoads{}}
}

func (c *BuildCache) get(key types.NamespacedName, generation int64, digest string) ([]client.Object, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.builds[key]
	if !ok || b.generation != generation || b.digest != digest {
		return nil, false
	}
	return deepCopies(b.objects), true
}

func (c *BuildCache) put(key types.NamespacedName, generation int64, digest string, objects []client.Object) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.builds[key] = build{generation: generation, digest: digest, objects: deepCopies(objects)}
}

// Forget drops a Fleet's build.
func (c *BuildCache) Forget(key types.NamespacedName) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.builds, key)
	delete(c.loads, key)
}

// load loads the Fleet's tree at root through the Fleet's loader cache. The objects of the
// set are shared with the cache: callers copy what they hand on.
func (c *BuildCache) load(key types.NamespacedName, namespace, root string) (*loader.Set, error) {
	c.mu.Lock()
	l := c.loads[key]
	if l == nil || l.namespace != namespace {
		l = &fleetLoads{namespace: namespace, cache: loader.NewCache(loader.Options{FleetNamespace: namespace})}
		c.loads[key] = l
	}
	c.mu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cache.LoadDir(root)
}

func deepCopies(objs []client.Object) []client.Object {
	out := make([]client.Object, len(objs))
	for i, o := range objs {
		out[i] = o.DeepCopyObject().(client.Object)
	}
	return out
}

// build returns the documents of the Fleet's revision, validated as a whole: every document
// loads, every cluster and logical-cluster member resolves (against the tree's profiles and
// those of the shared profile namespaces). Any error rejects the whole revision.
func (r *FleetReconciler) build(ctx context.Context, fleet *automationv1alpha1.Fleet, artifact *meta.Artifact) ([]client.Object, error) {
	key := client.ObjectKeyFromObject(fleet)
	if objs, ok := r.Builds.get(key, fleet.Generation, artifact.Digest); ok {
		return objs, nil
	}

	dir, cleanup, err := tempDir(fleet)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	if err := r.Fetcher.Fetch(ctx, artifact, dir); err != nil {
		return nil, err
	}
	root, err := artifactPath(dir, fleet.Spec.Path)
	if err != nil {
		return nil, err
	}

	set, err := r.Builds.load(key, fleet.Namespace, root)
	if err != nil {
		return nil, repoRelative(err, fleet.Spec.Path)
	}
	if len(set.Fleets) > 0 {
		f := set.Fleets[0]
		return nil, repoRelative(loader.ErrorList{{Pos: f.Origin.Pos, Kind: automationv1alpha1.FleetKind, Name: f.Object.Name,
			Message: "a Fleet cannot be applied by a Fleet: bootstrap Fleets with Flux (a Kustomization) instead"}}, fleet.Spec.Path)
	}

	shared := r.sharedNamespaces(fleet)
	withShared, err := r.withSharedProfiles(ctx, set, fleet.Namespace, shared)
	if err != nil {
		return nil, err
	}
	if _, err := resolve.Resolve(withShared, resolve.Options{SharedProfileNamespaces: shared}); err != nil {
		return nil, repoRelative(err, fleet.Spec.Path)
	}

	// A Fleet's tree holds no Fleets (refused above), so these are the documents it applies;
	// copies, as the loader cache keeps the originals for the next revision.
	objs := deepCopies(set.Objects())
	files, err := r.publishedFiles(fleet, set, dir)
	if err != nil {
		return nil, err
	}
	if files != nil {
		objs = append(objs, files.configMap)
		if err := r.checkTemplates(fleet, set, files.raw); err != nil {
			return nil, err
		}
	}
	r.Builds.put(key, fleet.Generation, artifact.Digest, objs)
	return objs, nil
}

// publishedFiles are the repository files the revision's profiles name (templates, add-on
// manifests), read from the artifact's root, and the ConfigMap that holds them for the
// Cluster controller to render from; nil when they name none.
func (r *FleetReconciler) publishedFiles(fleet *automationv1alpha1.Fleet, set *loader.Set, artifactRoot string) (*repositoryFiles, error) {
	paths := repofiles.Referenced(set)
	if len(paths) == 0 {
		return nil, nil
	}
	files, err := repofiles.Read(artifactRoot, paths)
	if err != nil {
		return nil, err
	}
	cm, err := repofiles.ConfigMap(client.ObjectKeyFromObject(fleet), files)
	if err != nil {
		return nil, err
	}
	return &repositoryFiles{raw: files, configMap: cm}, nil
}

type repositoryFiles struct {
	raw       map[string][]byte
	configMap client.Object
}

func (r *FleetReconciler) sharedNamespaces(fleet *automationv1alpha1.Fleet) []string {
	if fleet.Spec.SharedProfileNamespaces != nil {
		return fleet.Spec.SharedProfileNamespaces
	}
	if r.Settings.DefaultSharedProfileNamespaces != nil {
		return r.Settings.DefaultSharedProfileNamespaces
	}
	return resolve.DefaultSharedProfileNamespaces()
}

// withSharedProfiles adds the profiles published in the shared namespaces (read from the
// cache) to a copy of the set, so that references to them resolve. They are read-only to
// this Fleet: they take part in validation but are never applied by it.
func (r *FleetReconciler) withSharedProfiles(ctx context.Context, set *loader.Set, own string, shared []string) (*loader.Set, error) {
	out := *set
	out.Profiles = append([]loader.Doc[*automationv1alpha1.InfrastructureProfile]{}, set.Profiles...)
	for _, ns := range shared {
		if ns == own {
			continue
		}
		var profiles automationv1alpha1.InfrastructureProfileList
		if err := r.Cache.List(ctx, &profiles, client.InNamespace(ns)); err != nil {
			return nil, err
		}
		for i := range profiles.Items {
			out.Profiles = append(out.Profiles, loader.Doc[*automationv1alpha1.InfrastructureProfile]{Object: &profiles.Items[i]})
		}
	}
	return &out, nil
}

// repoRelative makes the file names of loader errors relative to the repository root rather
// than to the Fleet's path, since that is where people look for them.
func repoRelative(err error, fleetPath string) error {
	var list loader.ErrorList
	if !errors.As(err, &list) {
		return err
	}
	prefix := path.Clean("/" + fleetPath)[1:]
	if prefix == "" {
		return list
	}
	out := make(loader.ErrorList, len(list))
	for i, e := range list {
		c := *e
		if c.Pos.File != "" {
			c.Pos.File = path.Join(prefix, c.Pos.File)
		}
		out[i] = &c
	}
	return out
}

// ApplierCache keeps one Applier per Fleet for the life of the controller, made anew when the
// ServiceAccount the Fleet writes as changes.
type ApplierCache struct {
	mu       sync.Mutex
	appliers map[types.NamespacedName]fleetApplier
}

type fleetApplier struct {
	serviceAccount string
	applier        *apply.Applier
}

// NewApplierCache returns an empty cache.
func NewApplierCache() *ApplierCache {
	return &ApplierCache{appliers: map[types.NamespacedName]fleetApplier{}}
}

func (c *ApplierCache) get(key types.NamespacedName, serviceAccount string, create func() *apply.Applier) *apply.Applier {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.appliers[key]
	if !ok || a.serviceAccount != serviceAccount {
		a = fleetApplier{serviceAccount: serviceAccount, applier: create()}
		c.appliers[key] = a
	}
	return a.applier
}

// Forget drops a Fleet's Applier.
func (c *ApplierCache) Forget(key types.NamespacedName) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.appliers, key)
}
