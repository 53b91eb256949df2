package apply

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
)

// desiredObject is one document of a revision, ready to compare and apply.
type desiredObject struct {
	ref ObjectRef
	// content is exactly what server-side apply sends: the Fleet labels and the revision
	// annotation included, status and server-owned metadata left out.
	content map[string]any
	hash    string
}

// prepare converts a typed or unstructured object into the content Apply sends, stamped with
// the Fleet labels, the Fleet's shard and the source revision. The caller's object is not
// modified.
func (a *Applier) prepare(obj client.Object, revision string, shard shardStamp) (desiredObject, error) {
	gvk, err := apiutil.GVKForObject(obj, a.scheme)
	if err != nil {
		return desiredObject{}, fmt.Errorf("%s: unknown kind: %w", obj.GetName(), err)
	}
	ref := ObjectRef{Namespace: obj.GetNamespace(), Name: obj.GetName(), GVK: gvk}
	raw, err := toMap(obj)
	if err != nil {
		return desiredObject{}, fmt.Errorf("%s: %w", ref, err)
	}

	// Labels and annotations come from the normalized map, not the accessors, which drop
	// hand-built maps of another Go type.
	meta, _ := raw["metadata"].(map[string]any)
	labels := copyMap(meta["labels"])
	if a.opts.Fleet.Name != "" {
		labels[FleetNameLabel] = a.opts.Fleet.Name
		labels[FleetNamespaceLabel] = a.opts.Fleet.Namespace
	}
	shard.stamp(labels)
	annotations := copyMap(meta["annotations"])
	if revision != "" {
		annotations[automationv1alpha1.SourceRevisionAnnotation] = revision
	}

	content := applyContent(raw, ref, labels, annotations)
	hash, err := Hash(content)
	if err != nil {
		return desiredObject{}, fmt.Errorf("%s: %w", ref, err)
	}
	return desiredObject{ref: ref, content: content, hash: hash}, nil
}

// shardStamp is what Apply does with ShardLabel: for a Fleet, the Fleet's value replaces the
// document's, and a Fleet without one takes it off (an object labelled for a shard that does
// not own its Fleet would vanish from the owner's cache); without a Fleet, documents keep theirs.
type shardStamp struct {
	fleet bool
	value string
}

func (s shardStamp) stamp(labels map[string]any) {
	switch {
	case !s.fleet:
	case s.value == "":
		delete(labels, ShardLabel)
	default:
		labels[ShardLabel] = s.value
	}
}

// fleetShard reads the Fleet's ShardLabel from the cache on every pass, so that relabelling a
// Fleet moves everything it applied to the new shard on its next pass. A Fleet the cache does
// not hold (a test, or one deleted meanwhile) counts as unsharded.
func (a *Applier) fleetShard(ctx context.Context) (shardStamp, error) {
	if a.opts.Fleet.Name == "" {
		return shardStamp{}, nil
	}
	fleet := &automationv1alpha1.Fleet{}
	err := a.cache.Get(ctx, a.opts.Fleet, fleet, &client.GetOptions{UnsafeDisableDeepCopy: ptr.To(true)})
	switch {
	case apierrors.IsNotFound(err):
		return shardStamp{fleet: true}, nil
	case err != nil:
		return shardStamp{}, fmt.Errorf("reading Fleet %s for its %s label: %w", a.opts.Fleet, ShardLabel, err)
	}
	return shardStamp{fleet: true, value: fleet.Labels[ShardLabel]}, nil
}

// applyContent keeps what we own: identity, labels, annotations and every top-level field but
// status (which belongs to controllers) and server-owned metadata (uid, managedFields, …).
func applyContent(raw map[string]any, ref ObjectRef, labels, annotations map[string]any) map[string]any {
	meta := map[string]any{"name": ref.Name}
	if ref.Namespace != "" {
		meta["namespace"] = ref.Namespace
	}
	if len(labels) > 0 {
		meta["labels"] = labels
	}
	if len(annotations) > 0 {
		meta["annotations"] = annotations
	}
	content := map[string]any{
		"apiVersion": ref.GVK.GroupVersion().String(),
		"kind":       ref.GVK.Kind,
		"metadata":   meta,
	}
	for k, v := range raw {
		switch k {
		case "apiVersion", "kind", "metadata", "status":
		default:
			content[k] = v
		}
	}
	return content
}

// toMap returns the object as JSON-shaped maps, with numbers as the API machinery decodes them
// (int64 or float64). An unstructured object goes through JSON: that copies it, so stamping
// never reaches the caller's copy, and it normalizes hand-built values ([]string, int, …)
// that a deep copy would panic on and a comparison with the live object would misread.
func toMap(obj client.Object) (map[string]any, error) {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		data, err := utiljson.Marshal(u.Object)
		if err != nil {
			return nil, fmt.Errorf("encoding: %w", err)
		}
		var m map[string]any
		if err := utiljson.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("decoding: %w", err)
		}
		return m, nil
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, fmt.Errorf("converting to unstructured: %w", err)
	}
	return m, nil
}

func copyMap(v any) map[string]any {
	in, _ := v.(map[string]any)
	out := make(map[string]any, len(in)+2)
	for k, v := range in {
		out[k] = v
	}
	return out
}

// stageOf orders kinds so that what others refer to exists first: ConfigMaps and Secrets (the
// repository files the clusters render from), profiles, catalogs, clusters, logical clusters;
// other kinds last. A cluster applied before its files would fail its first render ("template
// does not exist"), flash Failed and warn, at 1,000 clusters a thousand times. Prune walks the
// stages backwards.
func stageOf(ref ObjectRef) int {
	switch {
	case ref.GVK.Group == "" && (ref.GVK.Kind == "ConfigMap" || ref.GVK.Kind == "Secret"):
		return 0
	case ref.GVK.Group == automationv1alpha1.GroupVersion.Group && ref.GVK.Kind == automationv1alpha1.InfrastructureProfileKind:
		return 1
	case ref.GVK.Group == automationv1alpha1.GroupVersion.Group && ref.GVK.Kind == automationv1alpha1.ClusterCatalogKind:
		return 2
	case isCluster(ref):
		return 3
	case isLogicalCluster(ref):
		return 4
	default:
		return 5
	}
}

const stageCount = 6

func isCluster(ref ObjectRef) bool {
	return ref.GVK.Group == automationv1alpha1.GroupVersion.Group && ref.GVK.Kind == automationv1alpha1.ClusterKind
}

func isLogicalCluster(ref ObjectRef) bool {
	return ref.GVK.Group == intentv1.GroupVersion.Group && ref.GVK.Kind == intentv1.LogicalClusterKind
}
