package controllers

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
	"github.com/dcn-ssu/lkaas/internal/apply"
	"github.com/dcn-ssu/lkaas/internal/resolve"
)

// Annotations the LogicalCluster controller keeps on its members.
const (
	// RolloutPermitTimeAnnotation is when the member got its current permit; the rollout
	// timeout counts from it. It is removed once the member is done with the permit.
	RolloutPermitTimeAnnotation = automationv1alpha1.LabelPrefix + "rollout-permit-time"
	// MemberHashAnnotation is the hash of what the controller last applied to the member,
	// so that a removed label or override is noticed without a dry-run.
	MemberHashAnnotation = automationv1alpha1.LabelPrefix + "member-hash"
)

// memberPermit is the rollout annotation pair a member carries.
type memberPermit struct {
	Hash string
	Time string // RFC 3339; "" once the member is done with the permit
}

func permitOf(c *automationv1alpha1.Cluster) memberPermit {
	if c == nil {
		return memberPermit{}
	}
	a := c.GetAnnotations()
	return memberPermit{Hash: a[automationv1alpha1.RolloutPermitAnnotation], Time: a[RolloutPermitTimeAnnotation]}
}

// memberRolloutOf is the planner's view of member i and its Cluster (nil: not created yet).
func memberRolloutOf(m *intentv1.MemberCluster, c *automationv1alpha1.Cluster) memberRollout {
	r := memberRollout{Name: m.Name, Wave: m.Wave}
	if c == nil {
		return r
	}
	p := permitOf(c)
	r.Permit = p.Hash
	if t, err := time.Parse(time.RFC3339, p.Time); err == nil {
		r.PermitTime = t
	}
	s := &c.Status
	r.RenderHash, r.AppliedRenderHash, r.Phase = s.RenderHash, s.AppliedRenderHash, s.Phase
	r.Healthy = s.ObservedGeneration == c.Generation &&
		(conditions.IsReady(c) || conditions.IsTrue(c, AvailableCondition))
	if ready := conditions.Get(c, meta.ReadyCondition); ready != nil && ready.Status != metav1.ConditionTrue {
		r.Message = ready.Message
	}
	return r
}

// AvailableCondition is the Cluster API v1beta2 condition a member Cluster mirrors.
const AvailableCondition = "Available"

// desiredMember is the Cluster that member i stands for, as the controller applies it: the
// resolved member, owned by the logical cluster, with the Fleet's labels and source revision
// carried over (its shard too, so that the Fleet's shard follows the member) and the member's
// rollout permit.
func desiredMember(lc *intentv1.LogicalCluster, i int, permit memberPermit) (*automationv1alpha1.Cluster, error) {
	c := resolve.ClusterForMember(lc, i) // carries LogicalClusterLabel
	for _, k := range []string{apply.FleetNameLabel, apply.FleetNamespaceLabel, apply.ShardLabel} {
		if v, ok := lc.Labels[k]; ok {
			c.Labels[k] = v
		}
	}
	annotations := map[string]string{}
	if permit.Hash != "" {
		annotations[automationv1alpha1.RolloutPermitAnnotation] = permit.Hash
	}
	if permit.Time != "" {
		annotations[RolloutPermitTimeAnnotation] = permit.Time
	}
	c.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(lc, intentv1.GroupVersion.WithKind(intentv1.LogicalClusterKind))}
	// The hash leaves out the source revision: a commit that does not change a member does
	// not rewrite it, as the Fleet does not rewrite an unchanged object.
	c.Annotations = annotations
	h, err := memberHash(c)
	if err != nil {
		return nil, err
	}
	annotations[MemberHashAnnotation] = h
	if rev, ok := lc.Annotations[automationv1alpha1.SourceRevisionAnnotation]; ok {
		annotations[automationv1alpha1.SourceRevisionAnnotation] = rev
	}
	return c, nil
}

func memberHash(c *automationv1alpha1.Cluster) (string, error) {
	b, err := json.Marshal(struct {
		M metav1.ObjectMeta
		S automationv1alpha1.ClusterSpec
	}{c.ObjectMeta, c.Spec})
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8]), nil
}

// memberNeedsApply says whether the cached member differs from the desired one: missing, not
// ours, applied from another desired state, or drifted (a field we set changed). Comparing
// with the cache keeps the steady state free of requests.
func memberNeedsApply(desired, live *automationv1alpha1.Cluster) (bool, error) {
	if live == nil || !metav1.IsControlledBy(live, &metav1.ObjectMeta{UID: desired.OwnerReferences[0].UID}) {
		return true, nil
	}
	if live.Annotations[MemberHashAnnotation] != desired.Annotations[MemberHashAnnotation] {
		return true, nil
	}
	for k, v := range desired.Labels {
		if live.Labels[k] != v {
			return true, nil
		}
	}
	for k, v := range desired.Annotations {
		if k != automationv1alpha1.SourceRevisionAnnotation && live.Annotations[k] != v {
			return true, nil
		}
	}
	want, err := toJSONMap(desired.Spec)
	if err != nil {
		return false, err
	}
	got, err := toJSONMap(live.Spec)
	if err != nil {
		return false, err
	}
	return !containsFields(got, want), nil
}

func toJSONMap(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("decoding member: %w", err)
	}
	return out, nil
}

// containsFields reports whether live holds every field of want with the same value; fields
// only live has (API-server defaults, other managers) are not drift. Lists of named items
// (the listMapKey of the L-KaaS kinds) match by name, other lists item by item.
func containsFields(live, want any) bool {
	switch w := want.(type) {
	case map[string]any:
		l, ok := live.(map[string]any)
		if !ok {
			return len(w) == 0 && live == nil
		}
		for k, v := range w {
			if !containsFields(l[k], v) {
				return false
			}
		}
		return true
	case []any:
		l, ok := live.([]any)
		if !ok || len(l) != len(w) {
			return false
		}
		byName := map[any]any{}
		for _, item := range l {
			if m, ok := item.(map[string]any); ok && m["name"] != nil {
				byName[m["name"]] = m
			}
		}
		for i, item := range w {
			m, named := item.(map[string]any)
			if named && m["name"] != nil && len(byName) == len(l) {
				if !containsFields(byName[m["name"]], item) {
					return false
				}
			} else if !containsFields(l[i], item) {
				return false
			}
		}
		return true
	default:
		return reflect.DeepEqual(live, want)
	}
}
