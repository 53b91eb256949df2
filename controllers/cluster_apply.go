package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/internal/apply"
	"github.com/dcn-ssu/lkaas/internal/render"
)

const (
	// ObjectHashAnnotation on every applied object is the hash of what L-KaaS applied, so a
	// pass compares it with the cache instead of asking the API server (no dry-run).
	ObjectHashAnnotation = automationv1alpha1.LabelPrefix + "object-hash"
	// AppliedObjectsAnnotation on the L-KaaS Cluster records what its last apply wrote: the
	// objects to delete when a render drops them, and to delete with the cluster. It lives on
	// the L-KaaS Cluster (not the CAPI Cluster) because it must outlive the CAPI Cluster
	// during deletion.
	AppliedObjectsAnnotation = automationv1alpha1.LabelPrefix + "applied-objects"
)

// objectRef is one applied object; Shared objects (render.IsShared) serve many clusters.
type objectRef struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	Shared     bool   `json:"shared,omitempty"`
}

func refOf(o *unstructured.Unstructured) objectRef {
	return objectRef{APIVersion: o.GetAPIVersion(), Kind: o.GetKind(), Name: o.GetName(), Shared: render.IsShared(o)}
}

func (ref objectRef) object(namespace string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(ref.APIVersion)
	u.SetKind(ref.Kind)
	u.SetNamespace(namespace)
	u.SetName(ref.Name)
	return u
}

func (ref objectRef) String() string { return ref.Kind + "/" + ref.Name }

// appliedRecord reads the cluster's record of applied objects.
func appliedRecord(cluster *automationv1alpha1.Cluster) []objectRef {
	var refs []objectRef
	if v := cluster.GetAnnotations()[AppliedObjectsAnnotation]; v != "" {
		_ = json.Unmarshal([]byte(v), &refs) // a mangled record only costs a missed prune
	}
	return refs
}

func setAppliedRecord(cluster *automationv1alpha1.Cluster, refs []objectRef) {
	b, _ := json.Marshal(refs)
	a := maps.Clone(cluster.GetAnnotations())
	if a == nil {
		a = map[string]string{}
	}
	a[AppliedObjectsAnnotation] = string(b)
	cluster.SetAnnotations(a)
}

// apply brings the live objects to the render: objects whose live hash annotation (read from
// the cache) differs or that are missing are server-side applied, then objects the previous
// render had and this one has not are deleted. It returns how many objects it wrote; in
// steady state that is zero, and no request is made.
func (r *ClusterReconciler) apply(ctx context.Context, cluster *automationv1alpha1.Cluster, patcher *clusterPatcher, desired *desiredState) (int, error) {
	capiCluster, err := r.capiCluster(ctx, cluster)
	if err != nil {
		return 0, err
	}
	if capiCluster == nil {
		// The cache of a sharded controller holds only CAPI Clusters labelled for its shard:
		// one just moved here (its Fleet was relabelled) is not in it until this apply
		// relabels it. Ask the API server before taking the control plane for uninitialized,
		// which would strip the add-on labels from a running cluster.
		if capiCluster, err = r.liveCAPICluster(ctx, cluster); err != nil {
			return 0, err
		}
	}
	objs := prepareObjects(cluster, desired.objects, desired.existing || controlPlaneInitialized(capiCluster))
	next := make([]objectRef, len(objs))
	for i, o := range objs {
		next[i] = refOf(o)
	}
	var staleRefs []objectRef
	var stale []client.Object
	for _, p := range appliedRecord(cluster) {
		if !slices.Contains(next, p) {
			staleRefs = append(staleRefs, p)
			stale = append(stale, p.object(cluster.Namespace))
		}
	}
	writer, err := r.writerFor(ctx, cluster, objs, stale)
	if err != nil {
		return 0, err
	}
	// Write ahead: before the first object is written, the record names every object this
	// pass may leave behind, what the previous render applied and what this one will, so a
	// pass cut short anywhere (a crash, a refused object) still prunes them later. It goes
	// out with the finalizer in one patch; in steady state nothing changes and nothing is sent.
	setAppliedRecord(cluster, append(slices.Clone(next), staleRefs...))
	if err := patcher.patchMetadata(ctx, cluster); err != nil {
		return 0, err
	}

	var written []*unstructured.Unstructured
	for _, o := range objs {
		live, err := r.cachedApplied(ctx, o)
		switch {
		case err == nil && live.GetDeletionTimestamp() == nil &&
			live.GetAnnotations()[ObjectHashAnnotation] == o.GetAnnotations()[ObjectHashAnnotation]:
			continue
		case err != nil && !apierrors.IsNotFound(err):
			return len(written), fmt.Errorf("reading %s: %w", refOf(o), err)
		}
		liveU, _ := live.(*unstructured.Unstructured) // a MachineDeployment is cached whole
		toApply, err := forAutoscaler(ctx, writer, r.APIReader, o, liveU, err == nil)
		if err != nil {
			return len(written), err
		}
		if err := writer.Apply(ctx, client.ApplyConfigurationFromUnstructured(toApply.DeepCopy()),
			client.FieldOwner(apply.DefaultFieldManager), client.ForceOwnership); err != nil {
			return len(written), fmt.Errorf("applying %s: %w", refOf(o), err)
		}
		written = append(written, o)
	}

	if err := r.deleteStale(ctx, writer, cluster, appliedRecord(cluster), next); err != nil {
		return len(written), err
	}
	setAppliedRecord(cluster, next)
	r.waitForCache(ctx, written)
	return len(written), nil
}

// prepareObjects makes the objects to apply: per-cluster objects owned by the L-KaaS Cluster
// (not as controller: CAPI controls some of them), shared add-on objects unowned, each
// stamped with the hash of its content.
//
// Until CAPI reports ControlPlaneInitialized, the add-on selection labels are kept off the
// CAPI Cluster: ClusterResourceSets and HelmChartProxies select clusters by them, and a CNI
// or chart cannot be installed before there is an API server to install it into. The next
// pass after the control plane comes up applies the labels.
func prepareObjects(cluster *automationv1alpha1.Cluster, rendered []*unstructured.Unstructured, initialized bool) []*unstructured.Unstructured {
	owner := metav1.OwnerReference{
		APIVersion: automationv1alpha1.GroupVersion.String(), Kind: automationv1alpha1.ClusterKind,
		Name: cluster.Name, UID: cluster.UID,
	}
	shard, sharded := cluster.GetLabels()[apply.ShardLabel]
	out := make([]*unstructured.Unstructured, len(rendered))
	for i, src := range rendered {
		o := src.DeepCopy()
		if !render.IsShared(o) {
			o.SetOwnerReferences([]metav1.OwnerReference{owner})
			// The cluster's shard owns its objects: the shard's cache of CAPI Clusters is
			// filtered by it. Shared add-on objects serve clusters of any shard and carry none.
			stampShard(o, shard, sharded)
		}
		if isCAPICluster(o) && !initialized {
			labels := o.GetLabels()
			for k := range labels {
				if strings.HasPrefix(k, render.AddonLabelPrefix) {
					delete(labels, k)
				}
			}
			o.SetLabels(labels)
		}
		a := maps.Clone(o.GetAnnotations())
		if a == nil {
			a = map[string]string{}
		}
		delete(a, ObjectHashAnnotation)
		o.SetAnnotations(a)
		a[ObjectHashAnnotation] = objectHash(o)
		o.SetAnnotations(a)
		out[i] = o
	}
	return out
}

// stampShard sets the cluster's apply.ShardLabel on o, or takes it off when the cluster has
// none (the render copies the cluster's labels onto the CAPI Cluster).
func stampShard(o *unstructured.Unstructured, shard string, sharded bool) {
	labels := o.GetLabels()
	if _, had := labels[apply.ShardLabel]; !had && !sharded {
		return
	}
	if labels == nil {
		labels = map[string]string{}
	}
	if sharded {
		labels[apply.ShardLabel] = shard
	} else {
		delete(labels, apply.ShardLabel)
	}
	o.SetLabels(labels)
}

func objectHash(o *unstructured.Unstructured) string {
	b, _ := json.Marshal(o.Object)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:16]
}

var capiClusterGVK = schema.GroupVersionKind{Group: "cluster.x-k8s.io", Version: "v1beta2", Kind: "Cluster"}

func isCAPICluster(o *unstructured.Unstructured) bool {
	return o.GroupVersionKind().GroupKind() == capiClusterGVK.GroupKind()
}

// deleteStale deletes what the previous apply wrote and this one does not: a machine
// template whose content-derived name changed, an add-on the cluster no longer uses. A shared
// add-on object goes only when no other cluster's applied record still names it.
func (r *ClusterReconciler) deleteStale(ctx context.Context, writer client.Client, cluster *automationv1alpha1.Cluster, prev, next []objectRef) error {
	var stale []objectRef
	for _, p := range prev {
		if !slices.Contains(next, p) {
			stale = append(stale, p)
		}
	}
	if len(stale) == 0 {
		return nil
	}
	used, err := r.sharedInUse(ctx, cluster)
	if err != nil {
		return err
	}
	for _, ref := range stale {
		if ref.Shared && used[ref] {
			continue
		}
		if err := writer.Delete(ctx, ref.object(cluster.Namespace)); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("deleting %s: %w", ref, err)
		}
	}
	return nil
}

// sharedInUse lists the shared objects that the other clusters of the namespace applied.
func (r *ClusterReconciler) sharedInUse(ctx context.Context, cluster *automationv1alpha1.Cluster) (map[objectRef]bool, error) {
	var clusters automationv1alpha1.ClusterList
	if err := r.Cache.List(ctx, &clusters, client.InNamespace(cluster.Namespace)); err != nil {
		return nil, err
	}
	used := map[objectRef]bool{}
	for i := range clusters.Items {
		if clusters.Items[i].UID == cluster.UID {
			continue
		}
		for _, ref := range appliedRecord(&clusters.Items[i]) {
			if ref.Shared {
				used[ref] = true
			}
		}
	}
	return used, nil
}

// cachedApplied reads from the cache what a pass compares of an applied object: its hash
// annotation and deletion. The kinds the controller reads further (status, spec) are the
// watched Cluster API kinds, cached whole for their watches anyway; of every other kind
// (infrastructure and bootstrap templates, add-on objects, ConfigMaps) only the metadata is
// asked for, so the cache keeps only that: a metadata informer per kind instead of a copy of
// every object of it.
func (r *ClusterReconciler) cachedApplied(ctx context.Context, o *unstructured.Unstructured) (client.Object, error) {
	var live client.Object
	if cachedWhole(o.GroupVersionKind()) {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(o.GroupVersionKind())
		live = u
	} else {
		m := &metav1.PartialObjectMetadata{}
		m.SetGroupVersionKind(o.GroupVersionKind())
		live = m
	}
	return live, r.Cache.Get(ctx, client.ObjectKeyFromObject(o), live)
}

// cachedWhole says whether the Cluster controller watches (and so caches whole) a kind.
func cachedWhole(gvk schema.GroupVersionKind) bool {
	return slices.ContainsFunc(WatchedClusterAPIKinds(), func(w schema.GroupVersionKind) bool {
		return w.GroupKind() == gvk.GroupKind()
	})
}

// waitForCache waits (briefly) until the cache shows what was just applied, so that the
// pass our own writes trigger compares against them and writes nothing.
func (r *ClusterReconciler) waitForCache(ctx context.Context, written []*unstructured.Unstructured) {
	_ = wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 5*time.Second, true, func(ctx context.Context) (bool, error) {
		for _, o := range written {
			live, err := r.cachedApplied(ctx, o)
			if err != nil ||
				live.GetAnnotations()[ObjectHashAnnotation] != o.GetAnnotations()[ObjectHashAnnotation] {
				return false, nil
			}
		}
		return true, nil
	})
}

// capiCluster reads the cluster's CAPI Cluster (same name and namespace) from the cache; nil
// when there is none.
func (r *ClusterReconciler) capiCluster(ctx context.Context, cluster *automationv1alpha1.Cluster) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(capiClusterGVK)
	if err := r.Cache.Get(ctx, client.ObjectKeyFromObject(cluster), u); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	return u, nil
}

// liveCAPICluster reads the cluster's CAPI Cluster from the API server; nil when there is
// none (or CAPI is not installed).
func (r *ClusterReconciler) liveCAPICluster(ctx context.Context, cluster *automationv1alpha1.Cluster) (*unstructured.Unstructured, error) {
	if r.APIReader == nil {
		return nil, nil
	}
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(capiClusterGVK)
	if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(cluster), u); err != nil {
		if apierrors.IsNotFound(err) || isNoMatch(err) {
			return nil, nil
		}
		return nil, err
	}
	return u, nil
}
