package render

import (
	"encoding/json"
	"fmt"
	"math"
	"path"
	"regexp"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/dcn-ssu/lkaas/internal/resolve"
)

// Add-on value keys (docs/profiles.md has the full convention).
const (
	valManifests = "manifests" // list of repository paths of plain manifests (Network, Software)
	valStrategy  = "strategy"  // ClusterResourceSet strategy: ApplyOnce (default) or Reconcile
	valChart     = "chart"     // {repoURL, name, version, releaseName, namespace} (Software)
	valValues    = "values"    // Helm values (Software)
	valVersion   = "version"   // chart version when chart.version is not given (Software)
)

// maxConfigMapBytes keeps a manifests ConfigMap under the API server's 1 MiB object limit.
const maxConfigMapBytes = 1000 * 1024

const (
	roleNetwork  = "network"
	roleSoftware = "software"
)

// addonInstance is the shared form of one add-on profile revision with its values: the
// objects every cluster using it selects by the label AddonLabelPrefix+name = id.
type addonInstance struct {
	role    string
	name    string
	profile resolve.ResolvedProfile
	// id names the shared objects and is the selection label's value: "<profile>-<revision
	// with dashes>-<hash8>", at most 63 characters. The hash covers the add-on name, the
	// profile key and its values, so clusters that override an add-on differently never
	// fight over one object.
	id      string
	objects []map[string]any
	warning string
}

func (a *addonInstance) describe() string {
	k := a.profile.Key
	return fmt.Sprintf("%s add-on %q (profile %s/%s %s)", a.role, a.name, k.Namespace, k.Name, k.Revision)
}

func addonID(role, name string, p resolve.ResolvedProfile) string {
	values, _ := json.Marshal(p.Values)
	h := shortHash([]byte(fmt.Sprintf("%s\x00%s\x00%s\x00%s\x00%s\x00%s\x00%s",
		role, name, p.Key.Namespace, p.Key.Name, p.Key.Type, p.Key.Revision, values)))
	return dnsName(p.Key.Name+"-"+p.Key.Revision, maxLabelValue-len(h)-1) + "-" + h
}

// addonID is the add-on's ID (the function addonID), remembered per input: JSON-encoding the
// values for every cluster was a tenth of a large fleet's render. The key is a form of the
// input that no two different inputs share (valuesKey), so equal keys mean equal IDs.
func (r *Renderer) addonID(role, name string, p resolve.ResolvedProfile) string {
	var b strings.Builder
	for _, s := range []string{role, name, p.Key.Namespace, p.Key.Name, string(p.Key.Type), p.Key.Revision} {
		writeKeyString(&b, s)
	}
	if !valuesKey(&b, p.Values) {
		return addonID(role, name, p)
	}
	key := b.String()
	r.mu.Lock()
	id, ok := r.addonIDs[key]
	r.mu.Unlock()
	if !ok {
		id = addonID(role, name, p)
		r.mu.Lock()
		r.addonIDs[key] = id
		r.mu.Unlock()
	}
	return id
}

// valuesKey writes v in a form that no other value shares (each part says its type and
// length; map keys sorted); false for a value that is not a plain JSON value.
func valuesKey(b *strings.Builder, v any) bool {
	switch v := v.(type) {
	case nil:
		b.WriteByte('n')
	case bool:
		if v {
			b.WriteByte('t')
		} else {
			b.WriteByte('f')
		}
	case string:
		writeKeyString(b, v)
	case int64:
		b.WriteByte('i')
		b.WriteString(strconv.FormatInt(v, 10))
		b.WriteByte(';')
	case float64:
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return false
		}
		b.WriteByte('d')
		b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
		b.WriteByte(';')
	case []any:
		b.WriteByte('l')
		b.WriteString(strconv.Itoa(len(v)))
		b.WriteByte(':')
		for _, e := range v {
			if !valuesKey(b, e) {
				return false
			}
		}
	case map[string]any:
		b.WriteByte('m')
		b.WriteString(strconv.Itoa(len(v)))
		b.WriteByte(':')
		for _, k := range sortedKeys(v) {
			writeKeyString(b, k)
			if !valuesKey(b, v[k]) {
				return false
			}
		}
	default:
		return false
	}
	return true
}

func writeKeyString(b *strings.Builder, s string) {
	b.WriteByte('s')
	b.WriteString(strconv.Itoa(len(s)))
	b.WriteByte(':')
	b.WriteString(s)
}

// renderAddons builds the add-on instances of a plan, network first, then software in the
// plan's order. Instances are cached per ID; callers get copies that own their metadata.
func (r *Renderer) renderAddons(plan *resolve.Plan) ([]addonInstance, error) {
	var out []addonInstance
	if plan.Network != nil {
		a, err := r.addon(roleNetwork, *plan.Network)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	for _, s := range plan.Software {
		a, err := r.addon(roleSoftware, s)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

func (r *Renderer) addon(role string, ad resolve.Addon) (addonInstance, error) {
	id := r.addonID(role, ad.Name, ad.Profile)
	r.mu.Lock()
	cached, ok := r.addons[id]
	r.mu.Unlock()
	if !ok {
		a := addonInstance{role: role, name: ad.Name, profile: ad.Profile, id: id}
		if err := r.buildAddon(&a); err != nil {
			return addonInstance{}, &addonError{role: role, err: fmt.Errorf("%s: %w", a.describe(), err)}
		}
		r.mu.Lock()
		r.addons[id] = a
		r.mu.Unlock()
		cached = a
	}
	// Each cluster's copy owns what the render writes per cluster (its metadata) and shares
	// the rest (shared.go).
	cp := cached
	cp.objects = make([]map[string]any, len(cached.objects))
	for i, o := range cached.objects {
		cp.objects[i] = ownObject(o)
	}
	return cp, nil
}

func (r *Renderer) buildAddon(a *addonInstance) error {
	values := a.profile.Values
	manifests, err := r.manifestObjects(a, values)
	if err != nil {
		return err
	}
	a.objects = append(a.objects, manifests...)
	if a.role == roleSoftware {
		hcp, err := helmChartProxy(a, values)
		if err != nil {
			return err
		}
		if hcp != nil {
			a.objects = append(a.objects, hcp)
		}
		if len(a.objects) == 0 {
			a.warning = a.describe() + " names no chart and no manifests: nothing is installed"
		}
	}
	for _, o := range a.objects {
		mergeLabels(o, map[string]string{AddonInstanceLabel: a.id, ManagedByLabel: managedByValue})
	}
	return nil
}

func (a *addonInstance) selector() map[string]any {
	return map[string]any{"matchLabels": map[string]any{addonLabelKey(a.name): a.id}}
}

var configMapKey = regexp.MustCompile(`^[-._a-zA-Z0-9]+$`)

// manifestObjects turns `manifests: [path, ...]` into a ConfigMap holding the files (one key
// per file, its base name) and a ClusterResourceSet that applies it to selected clusters.
func (r *Renderer) manifestObjects(a *addonInstance, values map[string]any) ([]map[string]any, error) {
	raw, ok := values[valManifests]
	if !ok || raw == nil {
		return nil, nil
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, fmt.Errorf("%s must be a list of file paths in the repository", valManifests)
	}
	if len(list) == 0 {
		return nil, nil
	}
	data := map[string]any{}
	size := 0
	for i, e := range list {
		p, ok := e.(string)
		if !ok || p == "" {
			return nil, fmt.Errorf("%s[%d] must be a file path in the repository", valManifests, i)
		}
		b, err := r.readRepoFile("manifest path", p)
		if err != nil {
			return nil, err
		}
		key := path.Base(p)
		if !configMapKey.MatchString(key) {
			return nil, fmt.Errorf("manifest path %q: file name must match %s", p, configMapKey)
		}
		if _, dup := data[key]; dup {
			return nil, fmt.Errorf("manifest path %q: another manifest has the file name %q; file names must differ", p, key)
		}
		data[key] = string(b)
		size += len(b)
	}
	if size > maxConfigMapBytes {
		return nil, fmt.Errorf("%s add up to %d bytes; one add-on's manifests may hold at most %d", valManifests, size, maxConfigMapBytes)
	}
	strategy := "ApplyOnce"
	if s, ok := values[valStrategy].(string); ok && s != "" {
		if s != "ApplyOnce" && s != "Reconcile" {
			return nil, fmt.Errorf("%s %q: use ApplyOnce or Reconcile", valStrategy, s)
		}
		strategy = s
	}
	cm := map[string]any{
		"apiVersion": "v1",
		"kind":       "ConfigMap",
		"metadata":   map[string]any{"name": a.id},
		"data":       data,
	}
	crs := map[string]any{
		"apiVersion": addonsGroup + "/v1beta2",
		"kind":       "ClusterResourceSet",
		"metadata":   map[string]any{"name": a.id},
		"spec": map[string]any{
			"clusterSelector": a.selector(),
			"resources":       []any{map[string]any{"kind": "ConfigMap", "name": a.id}},
			"strategy":        strategy,
		},
	}
	return []map[string]any{cm, crs}, nil
}

// helmChartProxy renders `chart` (+ `values`) as a cluster-api-addon-provider-helm
// HelmChartProxy; nil when the profile names no chart.
func helmChartProxy(a *addonInstance, values map[string]any) (map[string]any, error) {
	raw, ok := values[valChart]
	if !ok || raw == nil {
		return nil, nil
	}
	chart, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s must be a map with repoURL, name and version", valChart)
	}
	str := func(m map[string]any, k string) string { s, _ := stringify(m[k]); return s }
	repoURL, name := str(chart, "repoURL"), str(chart, "name")
	if repoURL == "" || name == "" {
		return nil, fmt.Errorf("%s needs repoURL and name", valChart)
	}
	spec := map[string]any{
		"clusterSelector": a.selector(),
		"repoURL":         repoURL,
		"chartName":       name,
		"releaseName":     a.name,
	}
	version := str(chart, "version")
	if version == "" {
		version = str(values, valVersion)
	}
	if version != "" {
		spec["version"] = version
	}
	if s := str(chart, "releaseName"); s != "" {
		spec["releaseName"] = s
	}
	if s := str(chart, "namespace"); s != "" {
		spec["namespace"] = s
	}
	if hv, ok := values[valValues]; ok && hv != nil {
		if _, isMap := hv.(map[string]any); !isMap {
			return nil, fmt.Errorf("%s must be a map of Helm values", valValues)
		}
		b, err := yaml.Marshal(hv)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", valValues, err)
		}
		spec["valuesTemplate"] = string(b)
	}
	return map[string]any{
		"apiVersion": addonsGroup + "/v1alpha1",
		"kind":       "HelmChartProxy",
		"metadata":   map[string]any{"name": a.id},
		"spec":       spec,
	}, nil
}
