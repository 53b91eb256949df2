package controllers

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
)

// ReasonRBACForbidden: the Fleet's ServiceAccount may not write what its revision holds.
const ReasonRBACForbidden = "RBACForbidden"

// Impersonator gives the clients that write on a Fleet's behalf as its ServiceAccount, the way
// Flux's kustomize-controller applies as a Kustomization's: the tenant's RBAC, not the
// controller's, bounds what its repository can create. Only writes go through them; reads
// stay on the manager's shared cache. One client per ServiceAccount, kept for the process.
type Impersonator struct {
	config *rest.Config
	opts   client.Options

	mu      sync.Mutex
	clients map[string]client.Client
	// allowed remembers, for allowedFor, the writes a ServiceAccount was allowed to make, so a
	// steady-state pass asks the API server nothing. A refusal is never remembered: once the
	// tenant's Role is fixed, the next pass sees it.
	allowed map[accessKey]time.Time
	now     func() time.Time
}

// allowedFor is how long an allowed answer stands; a revoked right takes effect after it (the
// API server still refuses the write itself, so this only delays the clear condition).
const allowedFor = time.Minute

type accessKey struct {
	user, namespace, verb string
	resource              schema.GroupResource
}

// NewImpersonator returns an Impersonator that builds its clients from config (the
// controller's own) with opts (its scheme and RESTMapper).
func NewImpersonator(config *rest.Config, opts client.Options) *Impersonator {
	return &Impersonator{config: config, opts: opts, clients: map[string]client.Client{}, allowed: map[accessKey]time.Time{}, now: time.Now}
}

// ServiceAccountUser is the user name Kubernetes gives a ServiceAccount.
func ServiceAccountUser(namespace, name string) string {
	return "system:serviceaccount:" + namespace + ":" + name
}

// ClientFor returns a client acting as the ServiceAccount namespace/name.
func (i *Impersonator) ClientFor(namespace, name string) (client.Client, error) {
	user := ServiceAccountUser(namespace, name)
	i.mu.Lock()
	defer i.mu.Unlock()
	if c, ok := i.clients[user]; ok {
		return c, nil
	}
	cfg := rest.CopyConfig(i.config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
	c, err := client.New(cfg, i.opts)
	if err != nil {
		return nil, fmt.Errorf("client impersonating %s: %w", user, err)
	}
	i.clients[user] = c
	return c, nil
}

// serviceAccountOf is the ServiceAccount a Fleet's writes impersonate: its own, else the
// controller's --default-service-account (Flux's lockdown), else none (the controller's
// identity, as before multi-tenancy).
func serviceAccountOf(fleet *automationv1alpha1.Fleet, defaultServiceAccount string) string {
	if fleet.Spec.ServiceAccountName != "" {
		return fleet.Spec.ServiceAccountName
	}
	return defaultServiceAccount
}

// RBACError is a write the impersonated ServiceAccount may not make.
type RBACError struct {
	ServiceAccount string // namespace/name
	Verb           string
	Resource       schema.GroupResource
	Namespace      string
}

func (e *RBACError) Error() string {
	return fmt.Sprintf("RBAC: ServiceAccount %s may not %s %s in namespace %s; grant it in a Role bound to the ServiceAccount (see docs/operations.md#multi-tenancy)",
		e.ServiceAccount, e.Verb, e.Resource, e.Namespace)
}

// CheckWrites asks the API server, as the ServiceAccount namespace/name, whether it may make
// every write a revision needs (create and patch of each kind, delete when pruning), before
// any is made: a refusal (an *RBACError) then leaves nothing half-applied. Answers that allow
// are remembered for allowedFor.
func (i *Impersonator) CheckWrites(ctx context.Context, namespace, name string, objs []client.Object, prune bool) error {
	verbs := []string{"create", "patch"}
	if prune {
		verbs = append(verbs, "delete")
	}
	return i.CheckVerbs(ctx, namespace, name, verbs, objs)
}

// CheckVerbs asks the API server, as the ServiceAccount namespace/name, whether it may use
// each of verbs on the resource of every object in objs (in their namespace), before any is
// written; the first refusal is an *RBACError. Answers that allow are remembered for
// allowedFor.
func (i *Impersonator) CheckVerbs(ctx context.Context, namespace, name string, verbs []string, objs []client.Object) error {
	if len(objs) == 0 {
		return nil
	}
	c, err := i.ClientFor(namespace, name)
	if err != nil {
		return err
	}
	user, serviceAccount := ServiceAccountUser(namespace, name), namespace+"/"+name
	resources := map[schema.GroupResource]bool{}
	for _, o := range objs {
		gvk, err := c.GroupVersionKindFor(o)
		if err != nil {
			return err
		}
		m, err := c.RESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return err
		}
		resources[m.Resource.GroupResource()] = true
	}
	sorted := make([]schema.GroupResource, 0, len(resources))
	for gr := range resources {
		sorted = append(sorted, gr)
	}
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].String() < sorted[j].String() })
	for _, gr := range sorted {
		for _, verb := range verbs {
			key := accessKey{user: user, namespace: namespace, verb: verb, resource: gr}
			if i.stillAllowed(key) {
				continue
			}
			review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
				ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: namespace, Verb: verb, Group: gr.Group, Resource: gr.Resource},
			}}
			if err := c.Create(ctx, review); err != nil {
				return asRBACError(err, serviceAccount, namespace)
			}
			if !review.Status.Allowed {
				return &RBACError{ServiceAccount: serviceAccount, Verb: verb, Resource: gr, Namespace: namespace}
			}
			i.remember(key)
		}
	}
	return nil
}

func (i *Impersonator) stillAllowed(key accessKey) bool {
	i.mu.Lock()
	defer i.mu.Unlock()
	at, ok := i.allowed[key]
	return ok && i.now().Sub(at) < allowedFor
}

func (i *Impersonator) remember(key accessKey) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.allowed[key] = i.now()
}

// asRBACError turns a Forbidden answer into an RBACError that keeps the API server's text.
func asRBACError(err error, serviceAccount, namespace string) error {
	var status apierrors.APIStatus
	if !apierrors.IsForbidden(err) || !errors.As(err, &status) {
		return err
	}
	d := status.Status().Details
	e := &RBACError{ServiceAccount: serviceAccount, Verb: "write", Namespace: namespace}
	if d != nil {
		e.Resource = schema.GroupResource{Group: d.Group, Resource: d.Kind}
	}
	return fmt.Errorf("%w: %s", e, err.Error())
}

func isRBACError(err error) bool {
	var e *RBACError
	return errors.As(err, &e)
}

// tenantWrites are writes a client is checked for before it is handed out: each verb on the
// resource of each object.
type tenantWrites struct {
	verbs []string
	objs  []client.Object
}

// writerOnBehalf returns the client that writes for obj, an object a Fleet applied (a
// Cluster, a LogicalCluster): one impersonating the Fleet's ServiceAccount, else the
// --default-service-account of obj's namespace (the lockdown, also for objects of no Fleet
// or whose Fleet is gone), else own, the controller's. With a ServiceAccount every one of
// writes is checked before the client is returned, so a refusal (an *RBACError) leaves
// nothing half-written.
func writerOnBehalf(ctx context.Context, cache client.Reader, imp *Impersonator, own client.Client, defaultServiceAccount string,
	obj client.Object, writes ...tenantWrites) (client.Client, error) {
	fleet, err := fleetOf(ctx, cache, obj)
	if err != nil {
		return nil, err
	}
	sa := defaultServiceAccount
	if fleet != nil {
		sa = serviceAccountOf(fleet, defaultServiceAccount)
	}
	if sa == "" {
		return own, nil
	}
	if imp == nil {
		return nil, &RBACError{ServiceAccount: obj.GetNamespace() + "/" + sa, Verb: "impersonate", Namespace: obj.GetNamespace()}
	}
	for _, w := range writes {
		if err := imp.CheckVerbs(ctx, obj.GetNamespace(), sa, w.verbs, w.objs); err != nil {
			return nil, err
		}
	}
	return imp.ClientFor(obj.GetNamespace(), sa)
}
