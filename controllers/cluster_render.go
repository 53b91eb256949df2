package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/internal/apply"
	"github.com/dcn-ssu/lkaas/internal/loader"
	"github.com/dcn-ssu/lkaas/internal/render"
	"github.com/dcn-ssu/lkaas/internal/repofiles"
	"github.com/dcn-ssu/lkaas/internal/resolve"
)

// desiredState is one render of a cluster: its plan, objects and their hash.
type desiredState struct {
	plan    *resolve.Plan
	objects []*unstructured.Unstructured
	hash    string
	// existing: the objects represent an existing cluster (its CAPI Cluster and
	// ExistingCluster, and its add-ons); its control plane runs already, so the add-on
	// labels go on the CAPI Cluster from the start.
	existing bool
	// gate is what the pass's version gate decided from the cache as it read it before
	// applying; nil when no gate ran (a paused, refused or unrenderable cluster).
	gate *versionGate
}

// render resolves the cluster against the profiles and catalogs in the cache and renders it
// with the repository files its Fleet published. A *stalledError means the inputs are wrong
// (only a change can mend it); any other error is a failure to read them.
func (r *ClusterReconciler) render(ctx context.Context, cluster *automationv1alpha1.Cluster) (*desiredState, error) {
	fleet, err := r.fleetOf(ctx, cluster)
	if err != nil {
		return nil, err
	}
	shared := r.sharedNamespacesFor(fleet)

	set, err := r.inputSet(ctx, cluster, shared)
	if err != nil {
		return nil, err
	}
	key := client.ObjectKeyFromObject(cluster)
	plans, err := resolve.Resolve(set, resolve.Options{SharedProfileNamespaces: shared, Only: []types.NamespacedName{key}})
	if err != nil {
		return nil, &stalledError{err}
	}
	if len(plans) != 1 {
		return nil, &stalledError{fmt.Errorf("cluster %s did not resolve to one plan", key)}
	}

	files, err := repofiles.FSForNamespaces(func(ns string) ([]corev1.ConfigMap, error) {
		var list corev1.ConfigMapList
		err := r.Cache.List(ctx, &list, repofiles.ListOptions(ns)...)
		return list.Items, err
	}, shared, cluster.Namespace)
	if err != nil {
		return nil, err
	}
	vars, err := r.fleetVariables(ctx, fleet)
	if err != nil {
		return nil, err
	}
	res, err := render.NewRenderer(render.Options{Files: files, Variables: vars,
		ExtraKinds: extraAllowedKinds(fleet), Scope: restScope(r.RESTMapper())}).RenderContext(ctx, plans[0])
	if err != nil {
		return nil, &stalledError{err}
	}
	hash, err := renderHash(res.Objects)
	if err != nil {
		return nil, &stalledError{err}
	}
	return &desiredState{plan: plans[0], objects: res.Objects, hash: hash}, nil
}

// inputSet gathers what the cluster may resolve against: itself, the catalogs of its
// namespace and the profiles of its namespace and the shared profile namespaces.
func (r *ClusterReconciler) inputSet(ctx context.Context, cluster *automationv1alpha1.Cluster, shared []string) (*loader.Set, error) {
	set := &loader.Set{Clusters: []loader.Doc[*automationv1alpha1.Cluster]{{Object: cluster.DeepCopy()}}}
	var catalogs automationv1alpha1.ClusterCatalogList
	if err := r.Cache.List(ctx, &catalogs, client.InNamespace(cluster.Namespace)); err != nil {
		return nil, err
	}
	for i := range catalogs.Items {
		set.Catalogs = append(set.Catalogs, loader.Doc[*automationv1alpha1.ClusterCatalog]{Object: &catalogs.Items[i]})
	}
	namespaces := []string{cluster.Namespace}
	for _, ns := range shared {
		if !slices.Contains(namespaces, ns) {
			namespaces = append(namespaces, ns)
		}
	}
	for _, ns := range namespaces {
		var profiles automationv1alpha1.InfrastructureProfileList
		if err := r.Cache.List(ctx, &profiles, client.InNamespace(ns)); err != nil {
			return nil, err
		}
		for i := range profiles.Items {
			set.Profiles = append(set.Profiles, loader.Doc[*automationv1alpha1.InfrastructureProfile]{Object: &profiles.Items[i]})
		}
	}
	return set, nil
}

// fleetOf returns the Fleet that applied the cluster (its labels say which), or nil for a
// cluster created by hand or by a LogicalCluster outside any Fleet.
func (r *ClusterReconciler) fleetOf(ctx context.Context, cluster *automationv1alpha1.Cluster) (*automationv1alpha1.Fleet, error) {
	key, ok := apply.FleetFor(cluster)
	if !ok {
		return nil, nil
	}
	fleet := &automationv1alpha1.Fleet{}
	if err := r.Cache.Get(ctx, key, fleet); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	return fleet, nil
}

func (r *ClusterReconciler) sharedNamespacesFor(fleet *automationv1alpha1.Fleet) []string {
	if fleet != nil && fleet.Spec.SharedProfileNamespaces != nil {
		return fleet.Spec.SharedProfileNamespaces
	}
	return r.defaultSharedNamespaces()
}

func (r *ClusterReconciler) defaultSharedNamespaces() []string {
	if r.Settings.DefaultSharedProfileNamespaces != nil {
		return r.Settings.DefaultSharedProfileNamespaces
	}
	return resolve.DefaultSharedProfileNamespaces()
}

// fleetVariables reads the Fleet's variablesFrom Secrets and ConfigMaps; a later entry wins.
func (r *ClusterReconciler) fleetVariables(ctx context.Context, fleet *automationv1alpha1.Fleet) (map[string]string, error) {
	if fleet == nil || len(fleet.Spec.VariablesFrom) == 0 {
		return nil, nil
	}
	vars := map[string]string{}
	for _, ref := range fleet.Spec.VariablesFrom {
		key := types.NamespacedName{Namespace: fleet.Namespace, Name: ref.Name}
		var data map[string]string
		switch ref.Kind {
		case "Secret":
			// Read directly: caching Secrets would mean a cluster-wide informer on all of them.
			s := &corev1.Secret{}
			if err := r.APIReader.Get(ctx, key, s); err != nil {
				if apierrors.IsNotFound(err) && ref.Optional {
					continue
				}
				if apierrors.IsNotFound(err) {
					return nil, &stalledError{fmt.Errorf("variablesFrom Secret %s of Fleet %s/%s not found", ref.Name, fleet.Namespace, fleet.Name)}
				}
				return nil, err
			}
			data = map[string]string{}
			for k, v := range s.Data {
				data[k] = string(v)
			}
		default:
			cm := &corev1.ConfigMap{}
			if err := r.Cache.Get(ctx, key, cm); err != nil {
				if apierrors.IsNotFound(err) && ref.Optional {
					continue
				}
				if apierrors.IsNotFound(err) {
					return nil, &stalledError{fmt.Errorf("variablesFrom ConfigMap %s of Fleet %s/%s not found", ref.Name, fleet.Namespace, fleet.Name)}
				}
				return nil, err
			}
			data = cm.Data
		}
		for k, v := range data {
			vars[k] = v
		}
	}
	return vars, nil
}

// renderHash is the hash of the rendered objects in their fixed order; encoding/json writes
// map keys sorted, so the same render always gives the same hash.
func renderHash(objs []*unstructured.Unstructured) (string, error) {
	h := sha256.New()
	for _, o := range objs {
		b, err := json.Marshal(o.Object)
		if err != nil {
			return "", err
		}
		h.Write(b)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}
