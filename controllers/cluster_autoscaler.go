package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/internal/apply"
	"github.com/dcn-ssu/lkaas/internal/render"
)

// AutoscalerHandoverFieldManager holds a MachineDeployment's replicas for the moment L-KaaS
// lets go of them: when a pool switches from a fixed count to the autoscaler's range, L-KaaS
// applies without replicas, which would delete the field were L-KaaS its only owner. This
// manager applies the current count first (clamped into the range, as Cluster API's webhook
// does), so the field survives; the autoscaler's next change takes it over.
const AutoscalerHandoverFieldManager = "lkaas-autoscaler-handover"

// autoscaledRange reads the range a rendered MachineDeployment hands to the autoscaler; ok
// is false for anything else, and for a MachineDeployment with a fixed count.
func autoscaledRange(o *unstructured.Unstructured) (lo, hi int64, ok bool) {
	if o.GroupVersionKind().GroupKind() != machineDeploymentGVK.GroupKind() {
		return 0, 0, false
	}
	if _, has, _ := unstructured.NestedFieldNoCopy(o.Object, "spec", "replicas"); has {
		return 0, 0, false
	}
	a := o.GetAnnotations()
	lo, errLo := strconv.ParseInt(a[render.AutoscalerMinSizeAnnotation], 10, 32)
	hi, errHi := strconv.ParseInt(a[render.AutoscalerMaxSizeAnnotation], 10, 32)
	if errLo != nil || errHi != nil {
		return 0, 0, false
	}
	return lo, hi, true
}

// AutoscalerReplicasAnnotation marks a MachineDeployment that L-KaaS applied without
// replicas (value "autoscaler"): its count is the autoscaler's, and L-KaaS holds no part of
// it, so the next apply needs no hand-over. L-KaaS sets it on every apply of an autoscaled
// pool except the one that creates it, and a pool with a fixed count never carries it.
const AutoscalerReplicasAnnotation = automationv1alpha1.LabelPrefix + "replicas"

// forAutoscaler prepares the apply of a MachineDeployment whose count the autoscaler owns.
// A new one starts at the range's minimum (replicas set only at creation, as Cluster API
// recommends, so nothing depends on its defaulting webhook). An existing one whose replicas
// L-KaaS still owns — it had a fixed count, or L-KaaS created it — is first handed over.
//
// Who owns replicas is in the managed fields, which the manager's cache does not keep. The
// cached object tells whether L-KaaS may own them at all: unless it carries
// AutoscalerReplicasAnnotation, L-KaaS's last apply of it set replicas (a fixed count, the
// creation, or a version of L-KaaS before the annotation). Only then, once per switch, is
// the live object read from the API server (apiReader) for its managed fields; every later
// apply of the pool goes without a read. live is the cached object, nil when exists is false.
func forAutoscaler(ctx context.Context, writer client.Client, apiReader client.Reader, desired, live *unstructured.Unstructured, exists bool) (*unstructured.Unstructured, error) {
	lo, hi, ok := autoscaledRange(desired)
	if !ok {
		return desired, nil
	}
	if !exists {
		out := desired.DeepCopy()
		_ = unstructured.SetNestedField(out.Object, lo, "spec", "replicas")
		return out, nil
	}
	out := desired.DeepCopy()
	a := out.GetAnnotations()
	if a == nil {
		a = map[string]string{}
	}
	a[AutoscalerReplicasAnnotation] = "autoscaler"
	out.SetAnnotations(a)
	if live != nil && live.GetAnnotations()[AutoscalerReplicasAnnotation] == "autoscaler" {
		return out, nil // L-KaaS let go of replicas on an earlier apply
	}
	if apiReader == nil {
		return nil, fmt.Errorf("handing the replicas of %s to the autoscaler: no API reader to read their owner", refOf(desired))
	}
	fresh := &unstructured.Unstructured{}
	fresh.SetGroupVersionKind(desired.GroupVersionKind())
	if err := apiReader.Get(ctx, client.ObjectKeyFromObject(desired), fresh); err != nil {
		return nil, fmt.Errorf("reading %s for its replicas' owner: %w", refOf(desired), err)
	}
	current, has, _ := unstructured.NestedInt64(fresh.Object, "spec", "replicas")
	if !has || !ownsReplicas(fresh, apply.DefaultFieldManager) {
		return out, nil
	}
	hold := &unstructured.Unstructured{}
	hold.SetGroupVersionKind(desired.GroupVersionKind())
	hold.SetNamespace(desired.GetNamespace())
	hold.SetName(desired.GetName())
	_ = unstructured.SetNestedField(hold.Object, min(max(current, lo), hi), "spec", "replicas")
	if err := writer.Apply(ctx, client.ApplyConfigurationFromUnstructured(hold),
		client.FieldOwner(AutoscalerHandoverFieldManager), client.ForceOwnership); err != nil {
		return nil, fmt.Errorf("handing the replicas of %s to the autoscaler: %w", refOf(desired), err)
	}
	return out, nil
}

// ownsReplicas says whether the field manager's apply set owns spec.replicas.
func ownsReplicas(o *unstructured.Unstructured, manager string) bool {
	for _, mf := range o.GetManagedFields() {
		if mf.Manager != manager || mf.Operation != "Apply" || mf.FieldsV1 == nil {
			continue
		}
		var fields map[string]any
		if err := json.NewDecoder(mf.FieldsV1.GetRawReader()).Decode(&fields); err != nil {
			continue
		}
		if spec, ok := fields["f:spec"].(map[string]any); ok {
			if _, ok := spec["f:replicas"]; ok {
				return true
			}
		}
	}
	return false
}
