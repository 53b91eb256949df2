// Package render turns a resolved cluster plan into the Cluster API and add-on objects that
// build the cluster: a clusterctl-style template with ${VAR} substitution (template mode) or
// one CAPI Cluster with spec.topology (ClusterClass mode), plus ClusterResourceSets and
// HelmChartProxies for the network and software add-ons. It is pure: the only I/O is reading
// files under the repository root and, when a fetcher is given, fetching url templates.
// docs/profiles.md documents the variable mapping, value conventions and naming rules.
package render

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/dcn-ssu/lkaas/internal/loader"
	"github.com/dcn-ssu/lkaas/internal/resolve"
	"github.com/dcn-ssu/lkaas/internal/tenancy"
)

// Options configure a render.
type Options struct {
	// Root is the repository root; template and manifest paths are relative to it and must
	// stay inside it.
	Root string
	// Files, when set, is read instead of Root: the repository files a Fleet published (the
	// Cluster controller renders from API objects, without the artifact).
	Files fs.FS
	// Variables are the Fleet's template variables (from its variablesFrom Secrets and
	// ConfigMaps), such as OPENSTACK_CLOUD_YAML_B64. See Variables for precedence.
	Variables map[string]string
	// Fetcher gets url templates; nil means url templates are an error (not fetched).
	Fetcher TemplateFetcher
	// ExtraKinds widen the kinds a template may produce (the Fleet's spec.extraAllowedKinds,
	// set by its owner, never by the repository); see internal/tenancy.
	ExtraKinds []schema.GroupKind
	// Scope answers whether a kind is cluster-scoped (the API server's RESTMapper in the
	// controllers); nil: the built-in list of well-known cluster-scoped kinds.
	Scope tenancy.ScopeFunc
}

// Renderer renders plans with one set of options, parsing each template and building each
// shared add-on once however many clusters use it. It assumes the files under Root do not
// change during its life: make a new Renderer per source revision. Safe for concurrent use.
type Renderer struct {
	opts Options

	mu        sync.Mutex
	templates map[string]*clusterTemplate
	addons    map[string]addonInstance
	addonIDs  map[string]string // Renderer.addonID's memory
}

// NewRenderer returns a Renderer for opts.
func NewRenderer(opts Options) *Renderer {
	return &Renderer{
		opts:      opts,
		templates: map[string]*clusterTemplate{},
		addons:    map[string]addonInstance{},
		addonIDs:  map[string]string{},
	}
}

// Render renders one plan with a throwaway Renderer; use a Renderer for many plans.
func Render(plan *resolve.Plan, opts Options) (*Result, error) {
	return NewRenderer(opts).Render(plan)
}

// Render renders one plan.
func (r *Renderer) Render(plan *resolve.Plan) (*Result, error) {
	return r.RenderContext(context.Background(), plan)
}

// RenderContext renders one plan; ctx bounds template fetches.
func (r *Renderer) RenderContext(ctx context.Context, plan *resolve.Plan) (*Result, error) {
	if plan == nil {
		return nil, errors.New("render: no plan")
	}
	if plan.Name == "" || plan.Namespace == "" {
		return nil, planError(plan, "", errors.New("the plan has no name or namespace"))
	}

	addons, err := r.renderAddons(plan)
	if err != nil {
		field := "spec.network"
		var ae *addonError
		if errors.As(err, &ae) && ae.role == roleSoftware {
			field = "spec.software"
		}
		return nil, planError(plan, field, err)
	}
	var selected []addonInstance
	for _, a := range addons {
		if len(a.objects) > 0 {
			selected = append(selected, a)
		}
	}

	var objs []map[string]any
	if plan.Existing != nil {
		// Built by other means: no infrastructure, only what its add-ons need (a CAPI
		// Cluster that represents it, with its ExistingCluster and ExistingControlPlane),
		// and nothing at all without add-ons.
		if len(selected) == 0 {
			return &Result{Namespace: plan.Namespace, Name: plan.Name}, nil
		}
		objs = existingRepresentation(plan)
	} else if objs, err = r.clusterObjects(ctx, plan); err != nil {
		k := plan.Infrastructure.Key
		return nil, planError(plan, "spec.infrastructure.profile",
			fmt.Errorf("infrastructure profile %s/%s %s: %w", k.Namespace, k.Name, k.Revision, err))
	}

	labels := clusterLabels(plan, selected)
	common := make(map[string]any, len(labels)) // the labels of objects with none of their own
	for k, v := range labels {
		common[k] = v
	}
	res := &Result{Namespace: plan.Namespace, Name: plan.Name}
	var items []rankedObject
	for _, o := range objs {
		var place map[string]string
		if g, k := groupKind(o); g == clusterGroup && k == "Cluster" {
			// The L-KaaS Cluster's own labels (region, zone, …) let add-ons and EMCO
			// select CAPI Clusters by place; the render's labels win over them.
			place = plan.Labels
		}
		setClusterLabels(o, place, labels, common)
		items = append(items, rankedObject{obj: o, rank: clusterRank(o)})
	}
	for _, a := range addons {
		for _, o := range a.objects {
			items = append(items, rankedObject{obj: o, rank: addonRank(o)})
		}
		if a.warning != "" {
			res.Warnings = append(res.Warnings, a.warning)
		}
	}
	for _, it := range items {
		it.obj["metadata"].(map[string]any)["namespace"] = plan.Namespace
	}
	// Add-on objects pass the same rules as a template's: L-KaaS makes them, but from the
	// repository's profiles, and a Fleet's clusters write nothing the rules refuse.
	policy := tenancy.Policy{Namespace: plan.Namespace, ExtraKinds: r.opts.ExtraKinds, Scope: r.opts.Scope}
	for _, a := range selected {
		field := "spec.network"
		if a.role == roleSoftware {
			field = "spec.software"
		}
		docs := make([]tenancy.Document, len(a.objects))
		for i, o := range a.objects {
			docs[i] = tenancy.Document{Pos: plan.Origin.Field(field), Object: o}
		}
		if errs := tenancy.Check(docs, policy); errs != nil {
			return nil, planError(plan, field, fmt.Errorf("%s makes objects a fleet repository may not create:\n%w", a.describe(), errs))
		}
	}
	if plan.Existing != nil {
		// The representation passes them too: it is written as the Fleet's account, like
		// any cluster's Cluster API objects.
		docs := make([]tenancy.Document, len(objs))
		for i, o := range objs {
			docs[i] = tenancy.Document{Pos: plan.Origin.Field("spec.existing"), Object: o}
		}
		if errs := tenancy.Check(docs, policy); errs != nil {
			return nil, planError(plan, "spec.existing", fmt.Errorf("the CAPI Cluster that represents the existing cluster is refused:\n%w", errs))
		}
	}
	res.Objects = sortObjects(items)
	return res, nil
}

// clusterObjects renders the cluster's own objects in topology or template mode.
func (r *Renderer) clusterObjects(ctx context.Context, plan *resolve.Plan) ([]map[string]any, error) {
	infra := plan.Infrastructure
	switch {
	case infra.ClusterClass != nil && infra.Template != nil:
		return nil, errors.New("the profile names both a template and a ClusterClass; name one")
	case infra.ClusterClass != nil:
		if plan.WorkerKubernetesVersion != "" && plan.WorkerKubernetesVersion != plan.KubernetesVersion {
			return nil, errTopologyWorkerVersion
		}
		c, err := topologyCluster(plan)
		if err != nil {
			return nil, err
		}
		return []map[string]any{c}, nil
	case infra.Template != nil:
		t, err := r.loadTemplate(ctx, infra.Template)
		if err != nil {
			return nil, err
		}
		docs, err := t.execute(Variables(plan, r.opts.Variables))
		if err != nil {
			return nil, err
		}
		// Checked on what the template produced, after substitution: a variable cannot
		// smuggle a kind or a namespace past the rule.
		policy := tenancy.Policy{Namespace: plan.Namespace, ExtraKinds: r.opts.ExtraKinds, Scope: r.opts.Scope}
		if errs := tenancy.Check(docs, policy); errs != nil {
			return nil, fmt.Errorf("template %s produces objects a fleet repository may not create:\n%w", t.source, errs)
		}
		objs := make([]map[string]any, len(docs))
		for i, d := range docs {
			objs[i] = d.Object
		}
		if err := adoptTemplateCluster(t.source, plan, objs, t.shared); err != nil {
			return nil, err
		}
		setWorkerVersion(plan, objs, t.shared)
		setWorkerAutoscaling(plan, objs, t.shared)
		nameTemplatesByContent(objs, t.shared)
		return objs, nil
	default:
		return nil, errors.New("the profile names neither a template nor a ClusterClass")
	}
}

// adoptTemplateCluster checks that the template holds exactly the plan's CAPI Cluster and
// makes its network the plan's: the Network profile, not the template, owns the CIDRs.
func adoptTemplateCluster(source string, plan *resolve.Plan, objs []map[string]any, shared *sharedMaps) error {
	var cluster map[string]any
	for _, o := range objs {
		if g, k := groupKind(o); g == clusterGroup && k == "Cluster" {
			if cluster != nil {
				return fmt.Errorf("template %s holds more than one Cluster", source)
			}
			cluster = o
		}
	}
	if cluster == nil {
		return fmt.Errorf("template %s holds no Cluster (%s)", source, clusterGroup)
	}
	if name := cluster["metadata"].(map[string]any)["name"]; name != plan.Name {
		return fmt.Errorf("template %s names its Cluster %q; name it ${%s}", source, name, VarClusterName)
	}
	pods, services := clusterCIDRs(plan)
	if len(pods) == 0 && len(services) == 0 {
		return nil
	}
	if spec, _ := cluster["spec"].(map[string]any); spec != nil {
		if network, _ := spec["clusterNetwork"].(map[string]any); network != nil &&
			hasCIDRs(network, "pods", pods) && hasCIDRs(network, "services", services) {
			return nil // the template wrote them already: nothing to change
		}
	}
	// Written into copies where the template's maps are shared with other clusters' (shared.go).
	spec, _ := cluster["spec"].(map[string]any)
	if spec = shared.own(spec); spec == nil {
		spec = map[string]any{}
	}
	cluster["spec"] = spec
	network, _ := spec["clusterNetwork"].(map[string]any)
	if network = shared.own(network); network == nil {
		network = map[string]any{}
	}
	spec["clusterNetwork"] = network
	if len(pods) > 0 {
		network["pods"] = map[string]any{"cidrBlocks": anyList(pods)}
	}
	if len(services) > 0 {
		network["services"] = map[string]any{"cidrBlocks": anyList(services)}
	}
	return nil
}

// hasCIDRs reports whether network already says {cidrBlocks: cidrs} under key (or cidrs is
// empty), as the templates' ${POD_CIDR} and ${SERVICE_CIDR} make it.
func hasCIDRs(network map[string]any, key string, cidrs []string) bool {
	if len(cidrs) == 0 {
		return true
	}
	m, _ := network[key].(map[string]any)
	blocks, _ := m["cidrBlocks"].([]any)
	if len(m) != 1 || len(blocks) != len(cidrs) {
		return false
	}
	for i, c := range cidrs {
		if s, ok := blocks[i].(string); !ok || s != c {
			return false
		}
	}
	return true
}

// Result is what one plan renders to.
type Result struct {
	// Namespace and Name of the L-KaaS Cluster.
	Namespace, Name string
	// Objects in apply order: Cluster, infrastructure cluster, control plane, machine
	// templates, MachineDeployments, other cluster objects, then shared add-on objects
	// (ConfigMap, ClusterResourceSet, HelmChartProxy); by kind and name within a rank.
	//
	// Each object owns its top-level map and its metadata map; anything below them (its
	// spec, its labels and annotations) may be the same maps and lists as in other objects
	// the same Renderer rendered (shared.go). Read them freely; set a field of metadata or
	// replace a map in it (as SetLabels does), and DeepCopy an object before changing anything
	// else.
	Objects []*unstructured.Unstructured
	// Warnings about the plan that did not stop the render (e.g. a software add-on with
	// nothing to install).
	Warnings []string
}

// IsShared reports whether obj is a shared add-on object, used by every cluster that selects
// it: it carries no cluster label, and whatever prunes must keep it while any cluster uses it.
func IsShared(obj *unstructured.Unstructured) bool {
	_, ok := obj.GetLabels()[AddonInstanceLabel]
	return ok
}

// Error is a render failure, placed at the document that declared the cluster.
type Error struct {
	Pos loader.Position
	// Kind and Name of that document: a Cluster, or the LogicalCluster of a member.
	Kind, Name string
	// Field is the canonical path of the member in a LogicalCluster, else empty.
	Field string
	Err   error
}

func (e *Error) Error() string { return e.LoaderError().Error() }
func (e *Error) Unwrap() error { return e.Err }

// LoaderError gives the failure in the loader's form, to join a tree's error list.
func (e *Error) LoaderError() *loader.Error {
	return &loader.Error{Pos: e.Pos, Kind: e.Kind, Name: e.Name, Field: e.Field, Message: e.Err.Error()}
}

func planError(plan *resolve.Plan, field string, err error) error {
	if plan.OriginField != "" {
		return &Error{
			Pos: plan.Origin.Field(plan.OriginField), Kind: "LogicalCluster", Name: plan.LogicalCluster,
			Field: plan.OriginField, Err: fmt.Errorf("cluster %s: %w", plan.Name, err),
		}
	}
	return &Error{Pos: plan.Origin.Field(field), Kind: "Cluster", Name: plan.Name, Err: err}
}

// addonError carries which kind of add-on failed, to place the error.
type addonError struct {
	role string
	err  error
}

func (e *addonError) Error() string { return e.err.Error() }
func (e *addonError) Unwrap() error { return e.err }
