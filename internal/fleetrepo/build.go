// Package fleetrepo reads one fleet repository, from a directory or from a Git ref, and takes
// it through the pure rooms: load, resolve, render. It is what `lkaas validate`, `render` and
// `plan` run on a pull request, with no cluster.
package fleetrepo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
	"github.com/dcn-ssu/lkaas/internal/loader"
	"github.com/dcn-ssu/lkaas/internal/plan"
	"github.com/dcn-ssu/lkaas/internal/render"
	"github.com/dcn-ssu/lkaas/internal/resolve"
)

// Options shape a build.
type Options struct {
	// Root is the repository root that template and manifest paths are relative to, as in a
	// Flux artifact; default: the fleet directory itself.
	Root string
	// Namespace is given to documents that name none (default "default").
	Namespace string
	// SharedProfileNamespaces (nil: "default").
	SharedProfileNamespaces []string
	// Only renders these clusters ("namespace/name"); all when empty.
	Only []string
	// Render also renders the CAPI objects (validate and plan do; a load-only check need not).
	Render bool
	// Fetcher fetches url templates; nil leaves clusters with url templates unrendered.
	Fetcher render.TemplateFetcher
	// Variables stand in for a Fleet's variablesFrom.
	Variables map[string]string
	// ExtraKinds stand in for a Fleet's spec.extraAllowedKinds.
	ExtraKinds []schema.GroupKind
}

// Build is a loaded, resolved and rendered tree.
type Build struct {
	Root  string
	Set   *loader.Set
	Plans []*resolve.Plan
	// Rendered objects per cluster, keyed "namespace/name".
	Rendered map[string][]*unstructured.Unstructured
	// Unrendered clusters and why (a url template that was not fetched).
	Unrendered map[string]string
}

// BuildDir builds the fleet in dir. Every problem of the tree comes back as one
// loader.ErrorList (load, resolve and render together), with whatever could be built.
func BuildDir(ctx context.Context, dir string, opts Options) (*Build, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", dir)
	}
	b := &Build{Root: opts.Root}
	if b.Root == "" {
		b.Root = dir
	}
	set, err := loader.LoadDir(dir, loader.Options{DefaultNamespace: opts.Namespace})
	if err != nil {
		var list loader.ErrorList
		if !errors.As(err, &list) {
			return nil, err
		}
	}
	opts.Root = b.Root
	r := render.NewRenderer(render.Options{Root: b.Root, Variables: opts.Variables, Fetcher: opts.Fetcher, ExtraKinds: opts.ExtraKinds})
	return build(ctx, set, opts, r, err)
}

// build resolves and renders a loaded set (nil when loadErr lists why it did not load).
func build(ctx context.Context, set *loader.Set, opts Options, r *render.Renderer, loadErr error) (*Build, error) {
	b := &Build{Root: opts.Root, Set: set, Rendered: map[string][]*unstructured.Unstructured{}, Unrendered: map[string]string{}}
	var problems loader.ErrorList
	if !collect(&problems, loadErr) {
		return nil, loadErr
	}
	if set == nil {
		return b, problems.Err()
	}

	plans, err := resolve.Resolve(set, resolve.Options{SharedProfileNamespaces: opts.SharedProfileNamespaces, Only: onlyKeys(opts.Only)})
	if !collect(&problems, err) {
		return nil, err
	}
	b.Plans = plans

	if opts.Render {
		for _, p := range plans {
			if err := renderInto(ctx, b, r, p, opts.Fetcher, &problems); err != nil {
				return nil, err
			}
		}
	}
	problems.Sort()
	return b, problems.Err()
}

// renderInto renders one plan into the build; a problem of the plan is added to problems,
// any other error is returned.
func renderInto(ctx context.Context, b *Build, r *render.Renderer, p *resolve.Plan, fetcher render.TemplateFetcher, problems *loader.ErrorList) error {
	key := p.Namespace + "/" + p.Name
	if fetcher == nil && p.Infrastructure.Template != nil && p.Infrastructure.Template.URL != "" {
		b.Unrendered[key] = "its template is a url, not fetched (use --fetch-templates)"
		return nil
	}
	res, err := r.RenderContext(ctx, p)
	if err != nil {
		var rerr *render.Error
		if errors.As(err, &rerr) {
			*problems = append(*problems, rerr.LoaderError())
			return nil
		}
		return err
	}
	b.Rendered[key] = res.Objects
	return nil
}

// collect adds a tree's problems to the list; any other error is not the tree's fault and
// ends the build (false).
func collect(problems *loader.ErrorList, err error) bool {
	if err == nil {
		return true
	}
	var list loader.ErrorList
	if errors.As(err, &list) {
		*problems = append(*problems, list...)
		return true
	}
	return false
}

// Snapshot is the build as one side of a plan.
func (b *Build) Snapshot(label string) *plan.Snapshot {
	s := &plan.Snapshot{Label: label, Plans: b.Plans, Rendered: b.Rendered}
	if b.Set != nil {
		for _, d := range b.Set.LogicalClusters {
			s.LogicalClusters = append(s.LogicalClusters, d.Object)
		}
	}
	sort.Slice(s.LogicalClusters, func(i, j int) bool {
		return key(s.LogicalClusters[i]) < key(s.LogicalClusters[j])
	})
	return s
}

func key(lc *intentv1.LogicalCluster) string { return lc.Namespace + "/" + lc.Name }

func onlyKeys(only []string) []types.NamespacedName {
	var out []types.NamespacedName
	for _, o := range only {
		ns, name, ok := strings.Cut(o, "/")
		if !ok {
			ns, name = "default", o
		}
		out = append(out, types.NamespacedName{Namespace: ns, Name: name})
	}
	return out
}
