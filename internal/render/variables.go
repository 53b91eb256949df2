package render

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/dcn-ssu/lkaas/internal/resolve"
)

// Names of the variables the render always sets itself; nothing overrides them.
const (
	VarClusterName = "CLUSTER_NAME"
	VarNamespace   = "NAMESPACE"
	VarPodCIDR     = "POD_CIDR"
	VarServiceCIDR = "SERVICE_CIDR"

	VarKubernetesVersion        = "KUBERNETES_VERSION"
	VarControlPlaneMachineCount = "CONTROL_PLANE_MACHINE_COUNT"
	VarWorkerMachineCount       = "WORKER_MACHINE_COUNT"
)

// providerAliases maps a profile value key to the extra variable names a provider family's
// templates use, on top of the generic UPPER_SNAKE name. Families match by provider prefix:
// "openstack" serves "openstack" and "openstack-v1". docs/profiles.md lists the table.
var providerAliases = map[string]map[string][]string{
	"openstack": {
		"controlplaneFlavor": {"OPENSTACK_CONTROL_PLANE_MACHINE_FLAVOR"},
		"controlPlaneFlavor": {"OPENSTACK_CONTROL_PLANE_MACHINE_FLAVOR"},
		"workerFlavor":       {"OPENSTACK_NODE_MACHINE_FLAVOR"},
		"nodeFlavor":         {"OPENSTACK_NODE_MACHINE_FLAVOR"},
		"image":              {"OPENSTACK_IMAGE_NAME"},
		"imageName":          {"OPENSTACK_IMAGE_NAME"},
		"sshKeyName":         {"OPENSTACK_SSH_KEY_NAME"},
		"externalNetworkID":  {"OPENSTACK_EXTERNAL_NETWORK_ID"},
		"dnsNameservers":     {"OPENSTACK_DNS_NAMESERVERS"},
		"failureDomain":      {"OPENSTACK_FAILURE_DOMAIN"},
		"cloudName":          {"OPENSTACK_CLOUD"},
		"nodeCIDR":           {"OPENSTACK_NODE_CIDR"},
	},
	"docker":    inMemoryAliases,
	"capd":      inMemoryAliases,
	"dev":       inMemoryAliases,
	"in-memory": inMemoryAliases,
	"inmemory":  inMemoryAliases,
}

var inMemoryAliases = map[string][]string{
	"vmStartupDuration":   {"IN_MEMORY_VM_STARTUP_DURATION"},
	"nodeStartupDuration": {"IN_MEMORY_NODE_STARTUP_DURATION"},
	"startupJitter":       {"IN_MEMORY_STARTUP_JITTER"},
}

// flavorAliases are where the plan's well-known flavours go, per family.
var flavorAliases = map[string][2]string{
	"openstack": {"OPENSTACK_CONTROL_PLANE_MACHINE_FLAVOR", "OPENSTACK_NODE_MACHINE_FLAVOR"},
}

// providerFamily picks the alias table whose name is the provider or a "-"-separated prefix
// of it ("openstack-v1" -> "openstack"); the longest match wins.
func providerFamily(provider string) string {
	best := ""
	for fam := range providerAliases {
		if (provider == fam || strings.HasPrefix(provider, fam+"-")) && len(fam) > len(best) {
			best = fam
		}
	}
	return best
}

// isCredential tells the Fleet's variables that a profile value may not replace: a profile
// in Git must not be able to point a cluster at other credentials than its Fleet gives.
func isCredential(name string) bool {
	if strings.HasSuffix(name, "_B64") {
		return true
	}
	for _, w := range []string{"CREDENTIAL", "SECRET", "PASSWORD", "TOKEN"} {
		if strings.Contains(name, w) {
			return true
		}
	}
	return false
}

// Variables returns the template variables of a plan, layered lowest first:
//
//  1. the Fleet's variables (opts.Variables);
//  2. every top-level infrastructure value as UPPER_SNAKE (kubernetesVersion ->
//     KUBERNETES_VERSION), plus the provider family's aliases;
//  3. the plan's well-known fields (version, machine counts, flavours) when set;
//  4. the Fleet's credential variables again (names ending in _B64 or containing
//     CREDENTIAL, SECRET, PASSWORD or TOKEN): profile values cannot replace them;
//  5. CLUSTER_NAME, NAMESPACE, POD_CIDR, SERVICE_CIDR from the plan: nothing replaces them.
//
// Scalars are written plainly (3, true, v1.25.0); lists and maps as JSON flow YAML
// (["10.0.0.0/8"]), which drops into a template as a YAML value.
func Variables(plan *resolve.Plan, fleet map[string]string) map[string]string {
	vars := make(map[string]string, len(fleet)+len(plan.Infrastructure.Values)+8)
	for k, v := range fleet {
		vars[k] = v
	}

	family := providerFamily(plan.Provider)
	aliases := providerAliases[family]
	for _, key := range sortedKeys(plan.Infrastructure.Values) {
		v, ok := stringify(plan.Infrastructure.Values[key])
		if !ok {
			continue
		}
		if name := upperSnake(key); name != "" {
			vars[name] = v
		}
		for _, alias := range aliases[key] {
			vars[alias] = v
		}
	}

	if plan.KubernetesVersion != "" {
		vars[VarKubernetesVersion] = plan.KubernetesVersion
	}
	if plan.ControlPlaneReplicas > 0 {
		vars[VarControlPlaneMachineCount] = strconv.Itoa(int(plan.ControlPlaneReplicas))
	}
	if plan.WorkerReplicas > 0 {
		vars[VarWorkerMachineCount] = strconv.Itoa(int(plan.WorkerReplicas))
	}
	if fa, ok := flavorAliases[family]; ok {
		if plan.ControlPlaneFlavor != "" {
			vars[fa[0]] = plan.ControlPlaneFlavor
		}
		if plan.WorkerFlavor != "" {
			vars[fa[1]] = plan.WorkerFlavor
		}
	}

	for k, v := range fleet {
		if isCredential(k) {
			vars[k] = v
		}
	}

	vars[VarClusterName] = plan.Name
	vars[VarNamespace] = plan.Namespace
	pods, services := clusterCIDRs(plan)
	delete(vars, VarPodCIDR)
	delete(vars, VarServiceCIDR)
	if len(pods) > 0 {
		vars[VarPodCIDR] = jsonList(pods)
	}
	if len(services) > 0 {
		vars[VarServiceCIDR] = jsonList(services)
	}
	return vars
}

// clusterCIDRs are the plan's pod and service CIDRs; when the resolver left them empty, the
// Network add-on's podCIDR/serviceCIDR values (a string or a list) stand in.
func clusterCIDRs(plan *resolve.Plan) (pods, services []string) {
	pods, services = plan.PodCIDRs, plan.ServiceCIDRs
	if plan.Network != nil {
		if len(pods) == 0 {
			pods = stringList(plan.Network.Profile.Values["podCIDR"])
		}
		if len(services) == 0 {
			services = stringList(plan.Network.Profile.Values["serviceCIDR"])
		}
	}
	return pods, services
}

// upperSnake maps a camelCase key to an UPPER_SNAKE variable name: kubernetesVersion ->
// KUBERNETES_VERSION, externalNetworkID -> EXTERNAL_NETWORK_ID, podCIDR -> POD_CIDR. Other
// characters become '_'; a key that yields no valid name (empty, leading digit) yields "".
func upperSnake(key string) string {
	r := []rune(key)
	var b strings.Builder
	for i, c := range r {
		isUpper := c >= 'A' && c <= 'Z'
		isLower := c >= 'a' && c <= 'z'
		isDigit := c >= '0' && c <= '9'
		if !isUpper && !isLower && !isDigit {
			b.WriteByte('_')
			continue
		}
		if isUpper && i > 0 {
			prev := r[i-1]
			prevLowerOrDigit := prev >= 'a' && prev <= 'z' || prev >= '0' && prev <= '9'
			nextLower := i+1 < len(r) && r[i+1] >= 'a' && r[i+1] <= 'z'
			prevUpper := prev >= 'A' && prev <= 'Z'
			if prevLowerOrDigit || prevUpper && nextLower {
				b.WriteByte('_')
			}
		}
		if isLower {
			c -= 'a' - 'A'
		}
		b.WriteRune(c)
	}
	name := b.String()
	if name == "" || name[0] >= '0' && name[0] <= '9' {
		return ""
	}
	return name
}

// stringify writes a value for a template; nil has no value (so a default can apply).
func stringify(v any) (string, bool) {
	switch v := v.(type) {
	case nil:
		return "", false
	case string:
		return v, true
	case bool:
		return strconv.FormatBool(v), true
	case int:
		return strconv.Itoa(v), true
	case int32:
		return strconv.FormatInt(int64(v), 10), true
	case int64:
		return strconv.FormatInt(v, 10), true
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
			return strconv.FormatInt(int64(v), 10), true
		}
		return strconv.FormatFloat(v, 'g', -1, 64), true
	case json.Number:
		return v.String(), true
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Sprint(v), true
		}
		return string(b), true
	}
}

func stringList(v any) []string {
	switch v := v.(type) {
	case string:
		if v == "" {
			return nil
		}
		return []string{v}
	case []string:
		return v
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := stringify(e); ok && s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func jsonList(l []string) string {
	b, _ := json.Marshal(l)
	return string(b)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
