package controllers

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/fluxcd/pkg/runtime/conditions"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/internal/render"
)

// How add-on providers report: a ClusterResourceSetBinding per CAPI Cluster (named after it)
// listing every ClusterResourceSet applied to it, and a HelmReleaseProxy per HelmChartProxy
// and cluster, labelled with both.
var (
	crsBindingGVK       = schema.GroupVersionKind{Group: "addons.cluster.x-k8s.io", Version: "v1beta2", Kind: "ClusterResourceSetBinding"}
	helmReleaseProxyGVK = schema.GroupVersionKind{Group: "addons.cluster.x-k8s.io", Version: "v1alpha1", Kind: "HelmReleaseProxy"}
)

const (
	helmChartProxyLabel = "helmreleaseproxy.addons.cluster.x-k8s.io/helmchartproxy-name"
	capiClusterLabel    = "cluster.x-k8s.io/cluster-name"
)

// observeAddons reports each add-on of the plan: the shared object that installs it and
// whether its provider has applied it to this cluster.
func (r *ClusterReconciler) observeAddons(ctx context.Context, cluster *automationv1alpha1.Cluster, desired *desiredState, s *capiState) error {
	var names []string
	if desired.plan.Network != nil {
		names = append(names, desired.plan.Network.Name)
	}
	for _, sw := range desired.plan.Software {
		names = append(names, sw.Name)
	}
	if len(names) == 0 {
		cluster.Status.Addons = nil
		conditions.Delete(cluster, AddonsAppliedCondition)
		return nil
	}

	var selection map[string]string
	for _, o := range desired.objects {
		if isCAPICluster(o) {
			selection = o.GetLabels()
		}
	}
	initialized := s.isTrue(capiControlPlaneInitialized)
	statuses := make([]automationv1alpha1.AddonStatus, 0, len(names))
	pending := 0
	for _, name := range names {
		st := automationv1alpha1.AddonStatus{Name: name}
		id := selection[render.AddonLabelPrefix+name]
		if id == "" {
			// The profile installs nothing (a network without manifests, a software profile
			// with neither chart nor manifests): nothing to wait for.
			st.Applied, st.Message = true, "nothing to install"
			statuses = append(statuses, st)
			continue
		}
		installer := addonInstaller(desired.objects, id)
		if installer != nil {
			st.Kind, st.Object = installer.GetKind(), installer.GetName()
		}
		switch {
		case !initialized && desired.existing:
			st.Message = "waiting for the existing cluster's API server to answer"
		case !initialized:
			st.Message = "waiting for ControlPlaneInitialized"
		case installer == nil:
			st.Message = "no installer rendered"
		default:
			var err error
			st.Applied, st.Message, err = r.addonApplied(ctx, cluster, installer)
			if err != nil {
				return err
			}
			if !st.Applied && s.unreachable != "" && installer.GetKind() == "ClusterResourceSet" {
				st.Message = s.unreachable
			}
		}
		if !st.Applied {
			pending++
		}
		statuses = append(statuses, st)
	}
	cluster.Status.Addons = statuses
	if pending == 0 {
		conditions.MarkTrue(cluster, AddonsAppliedCondition, "Applied", "%d add-ons applied", len(statuses))
	} else {
		conditions.MarkFalse(cluster, AddonsAppliedCondition, "Pending", "%d of %d add-ons not applied yet", pending, len(statuses))
	}
	return nil
}

// addonInstaller is the shared ClusterResourceSet or HelmChartProxy of an add-on instance;
// a chart wins over plain manifests when a profile has both.
func addonInstaller(objs []*unstructured.Unstructured, id string) *unstructured.Unstructured {
	var found *unstructured.Unstructured
	for _, o := range objs {
		if o.GetLabels()[render.AddonInstanceLabel] != id {
			continue
		}
		switch o.GetKind() {
		case "HelmChartProxy":
			return o
		case "ClusterResourceSet":
			found = o
		}
	}
	return found
}

// addonApplied asks the add-on provider's record (from the cache) about one installer.
func (r *ClusterReconciler) addonApplied(ctx context.Context, cluster *automationv1alpha1.Cluster, installer *unstructured.Unstructured) (bool, string, error) {
	switch installer.GetKind() {
	case "ClusterResourceSet":
		b := &unstructured.Unstructured{}
		b.SetGroupVersionKind(crsBindingGVK)
		if err := r.Cache.Get(ctx, client.ObjectKey{Namespace: cluster.Namespace, Name: cluster.Name}, b); err != nil {
			if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
				return false, "not applied yet", nil
			}
			return false, "", err
		}
		bindings, _, _ := unstructured.NestedSlice(b.Object, "spec", "bindings")
		for _, item := range bindings {
			m, _ := item.(map[string]any)
			if m["clusterResourceSetName"] != installer.GetName() {
				continue
			}
			resources, _ := m["resources"].([]any)
			var notApplied []string
			for _, res := range resources {
				rm, _ := res.(map[string]any)
				if applied, _ := rm["applied"].(bool); !applied {
					notApplied = append(notApplied, fmt.Sprintf("%v/%v", rm["kind"], rm["name"]))
				}
			}
			if len(notApplied) > 0 {
				return false, "not applied: " + strings.Join(notApplied, ", "), nil
			}
			return true, "applied", nil
		}
		return false, "not applied yet", nil
	case "HelmChartProxy":
		var list unstructured.UnstructuredList
		list.SetGroupVersionKind(helmReleaseProxyGVK)
		if err := r.Cache.List(ctx, &list, client.InNamespace(cluster.Namespace),
			client.MatchingLabels{helmChartProxyLabel: installer.GetName(), capiClusterLabel: cluster.Name}); err != nil {
			if meta.IsNoMatchError(err) {
				return false, "the Helm add-on provider is not installed", nil
			}
			return false, "", err
		}
		// A reinstall leaves the old proxy behind while its finalizer runs: read the live one.
		live := slices.DeleteFunc(list.Items, func(u unstructured.Unstructured) bool { return u.GetDeletionTimestamp() != nil })
		if len(live) == 0 {
			return false, "not installed yet", nil
		}
		c := findCondition(conditionsOf(&live[0]), "Ready")
		if c != nil && c.Status == "True" {
			return true, "release installed", nil
		}
		if c != nil && c.Message != "" {
			return false, c.Message, nil
		}
		return false, "release not ready yet", nil
	}
	return false, "unknown installer kind " + installer.GetKind(), nil
}
