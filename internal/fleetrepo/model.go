package fleetrepo

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/types"

	"github.com/dcn-ssu/lkaas/internal/loader"
	"github.com/dcn-ssu/lkaas/internal/render"
	"github.com/dcn-ssu/lkaas/internal/repofiles"
	"github.com/dcn-ssu/lkaas/internal/resolve"
)

// Model builds successive revisions of one fleet repository, each from what changed since
// the last: files are parsed again only when their content changed (loader.Cache), clusters
// are resolved again only when the document that declares them changed (or every cluster,
// when a profile or catalog did), and rendered again only when their plan or the files they
// render from changed. Every build equals what BuildDir returns for the same tree; a build
// with any problem is made in full, so its problems are exactly BuildDir's. Not safe for
// concurrent use.
type Model struct {
	opts  Options
	loads *loader.Cache
	last  *modelState
	// Stats of the last build.
	Stats ModelStats
}

// ModelStats says what the last build did again.
type ModelStats struct {
	FilesParsed       int
	ClustersResolved  int
	ClustersRendered  int
	Incremental       bool // false: built in full
	ProfilesUnchanged bool
}

// modelState is the last valid build and what it was built from.
type modelState struct {
	build    *Build
	profiles []any          // the profile and catalog objects, by identity
	declared map[string]any // cluster "namespace/name" → the object that declares it
	plans    map[string]*resolve.Plan
	files    [sha256.Size]byte
	renderer *render.Renderer
}

// NewModel returns a model for builds with opts (opts.Only must be empty).
func NewModel(opts Options) *Model {
	return &Model{opts: opts, loads: loader.NewCache(loader.Options{DefaultNamespace: opts.Namespace})}
}

// BuildDir builds the fleet in dir, reusing what it can of the last build.
func (m *Model) BuildDir(ctx context.Context, dir string) (*Build, error) {
	return m.BuildDirAt(ctx, dir, m.opts.Root)
}

// BuildDirAt is BuildDir with the repository root of this revision (where template and
// manifest paths lead; "" is dir), for revisions checked out to different places.
func (m *Model) BuildDirAt(ctx context.Context, dir, root string) (*Build, error) {
	if len(m.opts.Only) > 0 {
		return nil, errors.New("a Model builds whole trees; Options.Only is not supported")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", dir)
	}
	if root == "" {
		root = dir
	}
	m.Stats = ModelStats{}
	set, err := m.loads.LoadDir(dir)
	m.Stats.FilesParsed = m.loads.Parsed
	if err != nil {
		// The full build reports the tree's problems exactly as BuildDir does.
		m.last = nil
		return m.full(ctx, dir, root, set)
	}
	b, ok, err := m.incremental(ctx, set, root)
	if err != nil || !ok {
		m.last = nil
		return m.full(ctx, dir, root, set)
	}
	return b, nil
}

// full is BuildDir on the loaded set, remembered for the next build when it has no problem.
func (m *Model) full(ctx context.Context, dir, root string, set *loader.Set) (*Build, error) {
	opts := m.opts
	opts.Root = root
	r := render.NewRenderer(render.Options{Root: root, Variables: opts.Variables, Fetcher: opts.Fetcher, ExtraKinds: opts.ExtraKinds})
	b, err := build(ctx, set, opts, r, nil)
	if b != nil {
		m.Stats.ClustersResolved, m.Stats.ClustersRendered = len(b.Plans), len(b.Rendered)+len(b.Unrendered)
	}
	if err != nil || set == nil {
		// A set that does not load: BuildDir's own load gives the same problems.
		if set == nil {
			return BuildDir(ctx, dir, m.opts)
		}
		return b, err
	}
	files, err := filesSum(root, set)
	if err != nil {
		return b, nil // nothing remembered; the next build is a full one
	}
	plans := make(map[string]*resolve.Plan, len(b.Plans))
	for _, p := range b.Plans {
		plans[planKey(p)] = p
	}
	m.last = &modelState{build: b, plans: plans, profiles: contextOf(set), declared: declarations(set, len(b.Plans)), files: files, renderer: r}
	return b, nil
}

// incremental builds set from the last build; false when it must be built in full. Its
// cost follows what changed: the maps of the last build are copied whole (a bulk copy), and
// only changed clusters are looked at one by one.
func (m *Model) incremental(ctx context.Context, set *loader.Set, root string) (*Build, bool, error) {
	last := m.last
	if last == nil {
		return nil, false, nil
	}
	files, err := filesSum(root, set)
	if err != nil || files != last.files {
		return nil, false, err // a template or manifest changed: every render may differ
	}
	declared := declarations(set, len(last.declared))
	b := &Build{Root: root, Set: set, Rendered: maps.Clone(last.build.Rendered), Unrendered: maps.Clone(last.build.Unrendered)}
	plans := maps.Clone(last.plans)

	var changed []string // clusters whose plan may differ
	sameContext := slices.Equal(contextOf(set), last.profiles)
	m.Stats.ProfilesUnchanged = sameContext
	if sameContext {
		// Only the clusters whose declaring document changed can resolve differently.
		var only []types.NamespacedName
		for key, decl := range declared {
			if last.declared[key] != decl {
				ns, name, _ := strings.Cut(key, "/")
				only = append(only, types.NamespacedName{Namespace: ns, Name: name})
			}
		}
		for key := range last.declared {
			if _, ok := declared[key]; !ok {
				delete(plans, key)
				delete(b.Rendered, key)
				delete(b.Unrendered, key)
			}
		}
		if len(only) > 0 {
			fresh, err := resolve.Resolve(set, resolve.Options{SharedProfileNamespaces: m.opts.SharedProfileNamespaces, Only: only})
			if err != nil || len(fresh) != len(only) {
				return nil, false, nil
			}
			for _, p := range fresh {
				key := planKey(p)
				plans[key] = p
				changed = append(changed, key)
			}
		}
		m.Stats.ClustersResolved = len(only)
	} else {
		all, err := resolve.Resolve(set, resolve.Options{SharedProfileNamespaces: m.opts.SharedProfileNamespaces})
		if err != nil || len(all) != len(declared) {
			return nil, false, nil
		}
		plans = make(map[string]*resolve.Plan, len(all))
		for _, p := range all {
			key := planKey(p)
			plans[key] = p
			changed = append(changed, key)
		}
		for key := range last.declared {
			if _, ok := declared[key]; !ok {
				delete(b.Rendered, key)
				delete(b.Unrendered, key)
			}
		}
		m.Stats.ClustersResolved = len(all)
	}
	if len(plans) != len(declared) {
		return nil, false, nil
	}

	// The renderer (and the templates it parsed) carries over while the files stay where
	// they were; a revision checked out elsewhere reads them from there.
	renderer := last.renderer
	if last.build.Root != root {
		renderer = render.NewRenderer(render.Options{Root: root, Variables: m.opts.Variables, Fetcher: m.opts.Fetcher, ExtraKinds: m.opts.ExtraKinds})
	}
	if m.opts.Render {
		for _, key := range changed {
			p := plans[key]
			if old := last.plans[key]; old != nil && samePlan(old, p) {
				continue // rendered alike: the last build's objects stand
			}
			delete(b.Rendered, key)
			delete(b.Unrendered, key)
			m.Stats.ClustersRendered++
			var problems loader.ErrorList
			if err := renderInto(ctx, b, renderer, p, m.opts.Fetcher, &problems); err != nil || len(problems) > 0 {
				return nil, false, err
			}
		}
	}

	// The plans in order: the last build's order when no cluster came or went.
	if len(changed) < len(plans) && len(plans) == len(last.build.Plans) {
		b.Plans = slices.Clone(last.build.Plans)
		for i, p := range b.Plans {
			if q, ok := plans[planKey(p)]; !ok {
				b.Plans = nil
				break
			} else if q != p {
				b.Plans[i] = q
			}
		}
	}
	if b.Plans == nil {
		b.Plans = make([]*resolve.Plan, 0, len(plans))
		for _, p := range plans {
			b.Plans = append(b.Plans, p)
		}
		slices.SortFunc(b.Plans, comparePlans)
	}
	m.Stats.Incremental = true
	m.last = &modelState{build: b, plans: plans, profiles: contextOf(set), declared: declared, files: files, renderer: renderer}
	return b, true, nil
}

// contextOf is what every cluster may resolve against: the profile and catalog objects. The
// cache hands back the same object for an unchanged document, so comparing identities finds
// any change.
func contextOf(set *loader.Set) []any {
	out := make([]any, 0, len(set.Profiles)+len(set.Catalogs))
	for _, d := range set.Profiles {
		out = append(out, d.Object)
	}
	for _, d := range set.Catalogs {
		out = append(out, d.Object)
	}
	return out
}

// declarations maps each cluster to the document that declares it (a Cluster, or the
// LogicalCluster of a member). A name declared twice keeps its first declaration, as
// resolve's claim order does; the clash itself is then a problem, and builds in full.
// size is a hint: the last build's count.
func declarations(set *loader.Set, size int) map[string]any {
	out := make(map[string]any, size)
	for _, d := range set.Clusters {
		key := d.Object.Namespace + "/" + d.Object.Name
		if _, dup := out[key]; !dup {
			out[key] = d.Object
		}
	}
	for _, d := range set.LogicalClusters {
		lc := d.Object
		for _, c := range lc.Spec.Clusters {
			key := lc.Namespace + "/" + c.Name
			if _, dup := out[key]; !dup {
				out[key] = lc
			}
		}
	}
	return out
}

// filesSum is a digest of the repository files the set's profiles name (templates, add-on
// manifests): what rendering reads besides the plans.
func filesSum(root string, set *loader.Set) ([sha256.Size]byte, error) {
	h := sha256.New()
	for _, p := range repofiles.Referenced(set) {
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(p)))
		if err != nil {
			fmt.Fprintf(h, "%s\x00missing\x00", p) // rendering reports it
			continue
		}
		sum := sha256.Sum256(data)
		fmt.Fprintf(h, "%s\x00%x\x00", p, sum)
	}
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out, nil
}

// samePlan is whether two plans render alike: equal but for where they are declared.
func samePlan(a, b *resolve.Plan) bool {
	x, y := *a, *b
	x.Origin, y.Origin = loader.Origin{}, loader.Origin{}
	x.OriginField, y.OriginField = "", ""
	x.Sources, y.Sources = nil, nil
	return reflect.DeepEqual(x, y)
}

func planKey(p *resolve.Plan) string { return p.Namespace + "/" + p.Name }

func comparePlans(a, b *resolve.Plan) int {
	if a.Namespace != b.Namespace {
		if a.Namespace < b.Namespace {
			return -1
		}
		return 1
	}
	switch {
	case a.Name < b.Name:
		return -1
	case a.Name > b.Name:
		return 1
	}
	return 0
}
