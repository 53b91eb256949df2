package resolve

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"strconv"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/internal/loader"
	"github.com/dcn-ssu/lkaas/internal/versionrules"
)

// Keys of the well-known values the plan lifts out of the free-form trees.
const (
	kubernetesVersionKey        = "kubernetesVersion"
	controlPlaneMachineCountKey = "controlPlaneMachineCount"
	workerMachineCountKey       = "workerMachineCount"
	workerMachineMinCountKey    = "workerMachineMinCount"
	workerMachineMaxCountKey    = "workerMachineMaxCount"
	controlPlaneFlavorKey       = "controlplaneFlavor" // the seed's spelling
	controlPlaneFlavorAltKey    = "controlPlaneFlavor"
	workerFlavorKey             = "workerFlavor"
	podCIDRKey                  = "podCIDR"
	workerKubernetesVersionKey  = "workerKubernetesVersion"
	kubernetesVersionsKey       = "kubernetesVersions"
	serviceCIDRKey              = "serviceCIDR"
)

// Defaults follow clusterctl's generate flags, so a profile need not spell them out.
const (
	defaultControlPlaneMachineCount = 1
	defaultWorkerMachineCount       = 0
)

var kubernetesVersionPattern = regexp.MustCompile(`^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$`)

// decodeValues reads a values field into a tree whose numbers stay json.Number, so that an
// integer is told apart from 3.5 and large numbers keep their spelling.
func decodeValues(v *automationv1alpha1.Values) (map[string]any, error) {
	if v == nil || len(bytes.TrimSpace(v.Raw)) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(v.Raw))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return nil, fmt.Errorf("values are not valid JSON: %v", err)
	}
	switch t := tree.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		return t, nil
	default:
		return nil, fmt.Errorf("values must be a map of settings, not %s", describe(tree))
	}
}

// decodeOnce decodes a values field of a catalog or cluster, once per field: the members of
// a logical cluster share their catalog's overrides.
func (r *resolver) decodeOnce(v *automationv1alpha1.Values, doc docRef, field string) (map[string]any, bool) {
	if v == nil {
		return nil, true
	}
	if d, ok := r.decoded[v]; ok {
		return d.values, d.err == nil
	}
	values, err := decodeValues(v)
	r.decoded[v] = decodedValues{values, err}
	if err != nil {
		r.sink.add(doc.errorAt(field, "%v", err))
		return nil, false
	}
	return values, true
}

type decodedValues struct {
	values map[string]any
	err    error
}

// layer is one source of values, with where it sits, so a bad value is reported at the
// document and line that set it.
type layer struct {
	values map[string]any
	doc    docRef
	field  string
}

// layers are sources of values, highest precedence first.
type layers []layer

// source finds the layer that decides a top-level key (a null there removes it).
func (ls layers) source(key string) (layer, any, bool) {
	for _, l := range ls {
		if v, ok := l.values[key]; ok {
			if v == nil {
				return layer{}, nil, false
			}
			return l, v, true
		}
	}
	return layer{}, nil, false
}

// sourceOf is source for a key with spellings: the highest layer setting any of them wins, and
// within one layer the first spelling does.
func (ls layers) sourceOf(keys ...string) (string, layer, any, bool) {
	for _, l := range ls {
		for _, k := range keys {
			if v, ok := l.values[k]; ok {
				if v == nil {
					return "", layer{}, nil, false
				}
				return k, l, v, true
			}
		}
	}
	return "", layer{}, nil, false
}

func (l layer) errorAt(key, format string, args ...any) *loader.Error {
	return l.doc.errorAt(l.field+"."+key, format, args...)
}

// wellKnown lifts the values every renderer needs out of the trees into the plan, checking
// each. missingVersion reports an unset kubernetesVersion where the cluster can set it.
func wellKnown(plan *Plan, infra, network layers, missingVersion func() *loader.Error) []*loader.Error {
	var errs []*loader.Error
	if l, v, ok := infra.source(kubernetesVersionKey); !ok {
		errs = append(errs, missingVersion())
	} else if s, isString := v.(string); !isString || !kubernetesVersionPattern.MatchString(s) {
		errs = append(errs, l.errorAt(kubernetesVersionKey, "kubernetesVersion %s is not a version like v1.25.0 (v<major>.<minor>.<patch>)", describe(v)))
	} else {
		plan.KubernetesVersion = s
		plan.setSource(kubernetesVersionKey, l)
	}
	errs = append(errs, versionValues(plan, infra)...)

	plan.ControlPlaneReplicas = defaultControlPlaneMachineCount
	if l, v, ok := infra.source(controlPlaneMachineCountKey); ok {
		if n, isCount := machineCount(v); isCount {
			plan.ControlPlaneReplicas = n
		} else {
			errs = append(errs, countError(l, controlPlaneMachineCountKey, v))
		}
	}
	errs = append(errs, workerCount(plan, infra)...)

	if key, l, v, ok := infra.sourceOf(controlPlaneFlavorKey, controlPlaneFlavorAltKey); ok {
		if s, isString := v.(string); isString {
			plan.ControlPlaneFlavor = s
		} else {
			errs = append(errs, l.errorAt(key, "%s must be a flavor name such as m1.medium, not %s", key, describe(v)))
		}
	}
	if l, v, ok := infra.source(workerFlavorKey); ok {
		if s, isString := v.(string); isString {
			plan.WorkerFlavor = s
		} else {
			errs = append(errs, l.errorAt(workerFlavorKey, "workerFlavor must be a flavor name such as m1.large, not %s", describe(v)))
		}
	}

	// Address ranges belong to the network add-on; a cluster without one may still set them.
	cidrSources := append(append(layers{}, network...), infra...)
	plan.PodCIDRs, errs = cidrs(cidrSources, podCIDRKey, errs)
	plan.ServiceCIDRs, errs = cidrs(cidrSources, serviceCIDRKey, errs)
	return errs
}

func countError(l layer, key string, v any) *loader.Error {
	return l.errorAt(key, "%s must be a whole number from 0 to %d, not %s", key, math.MaxInt32, describe(v))
}

// workerCount reads the workers' fixed count (workerMachineCount) or the cluster
// autoscaler's range (workerMachineMinCount and workerMachineMaxCount). The highest layer
// that writes any of the three decides, so an override can turn a profile's count into a
// range and back; one document giving both a count and a range is refused, as is a range
// with one end or with min > max.
func workerCount(plan *Plan, infra layers) []*loader.Error {
	plan.WorkerReplicas = defaultWorkerMachineCount
	keys := []string{workerMachineCountKey, workerMachineMinCountKey, workerMachineMaxCountKey}
	for _, l := range infra {
		given := map[string]any{}
		set := false
		for _, k := range keys {
			if v, ok := l.values[k]; ok {
				set = true
				if v != nil { // a null removes the inherited value
					given[k] = v
				}
			}
		}
		if !set {
			continue
		}
		var errs []*loader.Error
		counts := map[string]int32{}
		for _, k := range keys {
			if v, ok := given[k]; ok {
				if n, isCount := machineCount(v); isCount {
					counts[k] = n
				} else {
					errs = append(errs, countError(l, k, v))
				}
			}
		}
		_, hasCount := given[workerMachineCountKey]
		_, hasMin := given[workerMachineMinCountKey]
		_, hasMax := given[workerMachineMaxCountKey]
		switch {
		case hasCount && (hasMin || hasMax):
			other := workerMachineMinCountKey
			if !hasMin {
				other = workerMachineMaxCountKey
			}
			return append(errs, l.errorAt(other, "give either workerMachineCount (a fixed count) or workerMachineMinCount and workerMachineMaxCount (a range for the cluster autoscaler), not both"))
		case hasMin != hasMax:
			missing, present := workerMachineMaxCountKey, workerMachineMinCountKey
			if !hasMin {
				missing, present = workerMachineMinCountKey, workerMachineMaxCountKey
			}
			return append(errs, l.errorAt(present, "%s needs %s beside it: the cluster autoscaler's range has two ends", present, missing))
		case len(errs) > 0:
			return errs
		case hasMin:
			lo, hi := counts[workerMachineMinCountKey], counts[workerMachineMaxCountKey]
			if lo > hi {
				return []*loader.Error{l.errorAt(workerMachineMinCountKey, "workerMachineMinCount %d is more than workerMachineMaxCount %d", lo, hi)}
			}
			plan.WorkerAutoscaling = &WorkerRange{Min: lo, Max: hi}
			// Templates still read WORKER_MACHINE_COUNT; the render takes replicas off again.
			plan.WorkerReplicas = lo
		case hasCount:
			plan.WorkerReplicas = counts[workerMachineCountKey]
		}
		return nil
	}
	return nil
}

// machineCount accepts an integer in range; "3" (a string) and 3.5 are refused on purpose,
// since a quoted count is usually a slip the user should see.
func machineCount(v any) (int32, bool) {
	var n int64
	switch t := v.(type) {
	case json.Number:
		i, err := strconv.ParseInt(string(t), 10, 64)
		if err != nil {
			return 0, false
		}
		n = i
	case float64:
		if t != math.Trunc(t) || math.IsInf(t, 0) {
			return 0, false
		}
		n = int64(t)
	case int:
		n = int64(t)
	case int64:
		n = t
	default:
		return 0, false
	}
	if n < 0 || n > math.MaxInt32 {
		return 0, false
	}
	return int32(n), true
}

// cidrs reads a CIDR or a list of CIDRs.
func cidrs(ls layers, key string, errs []*loader.Error) ([]string, []*loader.Error) {
	l, v, ok := ls.source(key)
	if !ok {
		return nil, errs
	}
	var out []string
	switch t := v.(type) {
	case string:
		if _, err := netip.ParsePrefix(t); err != nil {
			return nil, append(errs, l.errorAt(key, "%s %q is not a CIDR such as 10.96.0.0/12", key, t))
		}
		out = []string{t}
	case []any:
		for i, e := range t {
			s, isString := e.(string)
			if !isString {
				errs = append(errs, l.errorAt(fmt.Sprintf("%s[%d]", key, i), "%s entries must be CIDRs such as 10.96.0.0/12, not %s", key, describe(e)))
				continue
			}
			if _, err := netip.ParsePrefix(s); err != nil {
				errs = append(errs, l.errorAt(fmt.Sprintf("%s[%d]", key, i), "%s %q is not a CIDR such as 10.96.0.0/12", key, s))
				continue
			}
			out = append(out, s)
		}
	default:
		return nil, append(errs, l.errorAt(key, "%s must be a CIDR or a list of CIDRs, not %s", key, describe(v)))
	}
	return out, errs
}

// describe shows a value in an error the way the user wrote it.
func describe(v any) string {
	switch t := v.(type) {
	case nil:
		return "null"
	case string:
		return strconv.Quote(t)
	case map[string]any:
		return "a map"
	case []any:
		return "a list"
	default:
		return fmt.Sprint(t)
	}
}

func (p *Plan) setSource(key string, l layer) {
	if p.Sources == nil {
		p.Sources = map[string]Source{}
	}
	p.Sources[key] = Source{doc: l.doc, field: l.field + "." + key}
}

// versionValues reads the optional workers' version and the list of versions a chained
// upgrade steps through, and checks what Git alone can show: the workers neither newer than
// the control plane nor more than three minors behind it (versionrules).
func versionValues(plan *Plan, infra layers) []*loader.Error {
	var errs []*loader.Error
	if l, v, ok := infra.source(workerKubernetesVersionKey); ok {
		if s, isString := v.(string); !isString || !kubernetesVersionPattern.MatchString(s) {
			errs = append(errs, l.errorAt(workerKubernetesVersionKey, "workerKubernetesVersion %s is not a version like v1.25.0 (v<major>.<minor>.<patch>)", describe(v)))
		} else {
			plan.WorkerKubernetesVersion = s
			plan.setSource(workerKubernetesVersionKey, l)
		}
	}
	if l, v, ok := infra.source(kubernetesVersionsKey); ok {
		before := len(errs)
		list, isList := v.([]any)
		if !isList {
			errs = append(errs, l.errorAt(kubernetesVersionsKey, "kubernetesVersions must be a list of versions such as [v1.35.2, v1.36.1], not %s", describe(v)))
		}
		for i, e := range list {
			s, isString := e.(string)
			if !isString || !kubernetesVersionPattern.MatchString(s) {
				errs = append(errs, l.errorAt(fmt.Sprintf("%s[%d]", kubernetesVersionsKey, i), "kubernetesVersions[%d] %s is not a version like v1.25.0 (v<major>.<minor>.<patch>)", i, describe(e)))
				continue
			}
			plan.KubernetesVersions = append(plan.KubernetesVersions, s)
		}
		if len(errs) == before {
			plan.setSource(kubernetesVersionsKey, l)
		}
	}
	if len(errs) > 0 || plan.KubernetesVersion == "" {
		return errs
	}
	refusal := versionrules.CheckDesired(versionrules.Desired{ControlPlane: plan.KubernetesVersion, Workers: plan.WorkerKubernetesVersion})
	if refusal == nil {
		return nil
	}
	return []*loader.Error{plan.RefusalError(refusal)}
}

// RefusalError places a broken version rule at the field that set the value: the version,
// the workers' version or the list entry at fault (the version when no document set it).
func (p *Plan) RefusalError(r *versionrules.Refusal) *loader.Error {
	src, ok := p.SourceOf(string(r.Field))
	suffix := ""
	if ok && r.Field == versionrules.FieldChain && r.Index >= 0 {
		suffix = fmt.Sprintf("[%d]", r.Index)
	}
	if !ok {
		src, ok = p.SourceOf(kubernetesVersionKey)
	}
	if !ok { // a plan built by hand (tests): place it at the cluster's document
		src = Source{doc: docRef{Kind: p.originKind(), Name: p.originName(), Origin: p.Origin}, field: p.OriginField}
	}
	return src.ErrorAt(suffix, "%s (rule %s)", r.Message, r.Rule)
}

func (p *Plan) originKind() string {
	if p.OriginField != "" {
		return "LogicalCluster"
	}
	return "Cluster"
}

func (p *Plan) originName() string {
	if p.OriginField != "" {
		return p.LogicalCluster
	}
	return p.Name
}
