package charts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dcn-ssu/lkaas/internal/plane"
	"github.com/dcn-ssu/lkaas/internal/testenv"
)

const chart = "lkaas"

// helm runs the helm binary built by hack/tools.sh (make tools).
func helm(t *testing.T, args ...string) string {
	t.Helper()
	path, err := plane.ToolPath("helm")
	require.NoError(t, err, "make tools builds helm")
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+t.TempDir(), "HELM_CONFIG_HOME="+t.TempDir(), "HELM_DATA_HOME="+t.TempDir())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "helm %s: %s", strings.Join(args, " "), stderr.String())
	return stdout.String()
}

// objects splits a multi-document YAML stream.
func objects(t *testing.T, manifests string) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(manifests), 4096)
	for {
		u := &unstructured.Unstructured{}
		err := dec.Decode(&u.Object)
		if errors.Is(err, io.EOF) {
			return out
		}
		require.NoError(t, err)
		if len(u.Object) > 0 {
			out = append(out, u)
		}
	}
}

func TestChartLints(t *testing.T) {
	out := helm(t, "lint", "--strict", chart)
	assert.Contains(t, out, "0 chart(s) failed")
}

// What the chart renders, with defaults and with every option on, is accepted by the real
// API server (server-side dry run): the equivalent of helm template | kubectl apply
// --dry-run=server.
func TestChartRendersObjectsTheAPIServerAccepts(t *testing.T) {
	env, err := testenv.Start()
	require.NoError(t, err)
	t.Cleanup(func() { _ = env.Stop() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, ns := range []string{"lkaas-system", "flux-system"} {
		require.NoError(t, env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	}

	for name, args := range map[string][]string{
		"defaults": nil,
		"options": {"--set", "controller.watchAllNamespaces=false", "--set", "controller.extraArgs={--kube-api-qps=100}",
			"--set", "emcoCredentials[0].name=emco-central", "--set", "emcoCredentials[0].token=t0ken",
			"--set", "networkPolicy.enabled=true", "--set", "replicas=2", "--set", "sharding.key=shard1",
			"--set-json", `web.allowFrom=[{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"auth-proxy"}}}]`},
	} {
		t.Run(name, func(t *testing.T) {
			rendered := helm(t, append([]string{"template", "lkaas", chart, "--namespace", "lkaas-system", "--include-crds"}, args...)...)
			kinds := map[string]int{}
			for _, obj := range objects(t, rendered) {
				kinds[obj.GetKind()]++
				err := env.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(obj),
					client.FieldOwner("helm"), client.ForceOwnership, client.DryRunAll)
				assert.NoError(t, err, "%s %s", obj.GetKind(), obj.GetName())
			}
			for _, kind := range []string{"CustomResourceDefinition", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Deployment", "Service", "NetworkPolicy"} {
				assert.Positive(t, kinds[kind], kind)
			}
			assert.Equal(t, 7, kinds["CustomResourceDefinition"])
		})
	}
}

// The Helm add-on provider's account may read an existing cluster's ExistingCluster and
// ExistingControlPlane (it reads both for every Cluster a HelmChartProxy selects): bound to
// CAAPH's account as clusterctl installs it, to another one, or to none.
func TestChartLetsTheHelmAddonProviderReadExistingClusters(t *testing.T) {
	for name, tc := range map[string]struct {
		args []string
		want []rbacv1.Subject
	}{
		"defaults": {want: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "caaph-controller-manager", Namespace: "caaph-system"}}},
		"another account": {args: []string{"--set", "addonProviderHelm.serviceAccount.name=helm-addons", "--set", "addonProviderHelm.serviceAccount.namespace=addons"},
			want: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "helm-addons", Namespace: "addons"}}},
		"none": {args: []string{"--set", "addonProviderHelm.serviceAccount.name="}},
	} {
		t.Run(name, func(t *testing.T) {
			var subjects []rbacv1.Subject
			var rules []rbacv1.PolicyRule
			for _, obj := range objects(t, helm(t, append([]string{"template", "lkaas", chart, "--namespace", "lkaas-system"}, tc.args...)...)) {
				switch {
				case obj.GetKind() == "ClusterRoleBinding" && obj.GetName() == "lkaas-caaph-existing":
					b := &rbacv1.ClusterRoleBinding{}
					require.NoError(t, runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, b))
					assert.Equal(t, "lkaas-caaph-existing", b.RoleRef.Name)
					subjects = b.Subjects
				case obj.GetKind() == "ClusterRole" && obj.GetName() == "lkaas-caaph-existing":
					r := &rbacv1.ClusterRole{}
					require.NoError(t, runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, r))
					rules = r.Rules
				}
			}
			assert.Equal(t, tc.want, subjects)
			if tc.want == nil {
				assert.Nil(t, rules, "no role without an account")
				return
			}
			assert.Equal(t, []rbacv1.PolicyRule{
				{APIGroups: []string{"infrastructure.automation.dcn.ssu.ac.kr"}, Resources: []string{"existingclusters"}, Verbs: []string{"get", "list", "watch"}},
				{APIGroups: []string{"controlplane.automation.dcn.ssu.ac.kr"}, Resources: []string{"existingcontrolplanes"}, Verbs: []string{"get", "list", "watch"}},
			}, rules, "read only")
		})
	}
}

// The controller's pod runs as a non-root user on a read-only root filesystem with a
// writable /tmp, with probes and requests, and its NetworkPolicy admits it to
// source-controller's storage in the Flux namespace.
func TestChartDeploymentIsHardened(t *testing.T) {
	var deploy, policy *unstructured.Unstructured
	for _, obj := range objects(t, helm(t, "template", "lkaas", chart, "--namespace", "lkaas-system")) {
		switch obj.GetKind() {
		case "Deployment":
			deploy = obj
		case "NetworkPolicy":
			if strings.HasSuffix(obj.GetName(), "-artifacts") { // the status page has one of its own
				policy = obj
			}
		}
	}
	require.NotNil(t, deploy)
	require.NotNil(t, policy)
	container := func(field ...string) any {
		containers, _, _ := unstructured.NestedSlice(deploy.Object, "spec", "template", "spec", "containers")
		require.Len(t, containers, 1)
		v, _, _ := unstructured.NestedFieldNoCopy(containers[0].(map[string]any), field...)
		return v
	}
	assert.Equal(t, true, container("securityContext", "readOnlyRootFilesystem"))
	assert.Equal(t, false, container("securityContext", "allowPrivilegeEscalation"))
	nonRoot, _, _ := unstructured.NestedBool(deploy.Object, "spec", "template", "spec", "securityContext", "runAsNonRoot")
	assert.True(t, nonRoot)
	assert.Equal(t, "/tmp", container("volumeMounts").([]any)[0].(map[string]any)["mountPath"])
	assert.NotNil(t, container("livenessProbe"))
	assert.NotNil(t, container("readinessProbe"))
	assert.NotNil(t, container("resources", "requests"))
	assert.Contains(t, container("args"), "--enable-leader-election")
	assert.Equal(t, "flux-system", policy.GetNamespace())
}

// The sharding values become the controller's --watch-label-selector: a shard key, a full
// selector (the main instance's "!sharding.fluxcd.io/key"), or nothing at all.
func TestChartShardingSetsWatchLabelSelector(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string // "" for no flag
	}{
		{name: "no sharding"},
		{name: "a shard", args: []string{"--set", "sharding.key=shard1"}, want: "--watch-label-selector=sharding.fluxcd.io/key=shard1"},
		{name: "the main instance", args: []string{"--set", "sharding.watchLabelSelector=!sharding.fluxcd.io/key"},
			want: "--watch-label-selector=!sharding.fluxcd.io/key"},
		{name: "a selector wins over a key", args: []string{"--set", "sharding.key=shard1", "--set", "sharding.watchLabelSelector=!sharding.fluxcd.io/key"},
			want: "--watch-label-selector=!sharding.fluxcd.io/key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var args []any
			for _, obj := range objects(t, helm(t, append([]string{"template", "lkaas", chart, "--namespace", "lkaas-system"}, tc.args...)...)) {
				if obj.GetKind() == "Deployment" {
					containers, _, _ := unstructured.NestedSlice(obj.Object, "spec", "template", "spec", "containers")
					require.Len(t, containers, 1)
					args, _, _ = unstructured.NestedSlice(containers[0].(map[string]any), "args")
				}
			}
			require.NotEmpty(t, args)
			var got []any
			for _, a := range args {
				if strings.HasPrefix(a.(string), "--watch-label-selector") {
					got = append(got, a)
				}
			}
			if tc.want == "" {
				assert.Empty(t, got)
			} else {
				assert.Equal(t, []any{tc.want}, got)
			}
		})
	}
}

// The multi-tenancy values set --default-service-account and add the impersonate rule, and
// only when enabled: the controller keeps no right it does not use.
func TestChartMultitenancyLocksFleetsDown(t *testing.T) {
	for _, enabled := range []bool{false, true} {
		t.Run(fmt.Sprint("enabled=", enabled), func(t *testing.T) {
			var args []any
			impersonates := false
			for _, obj := range objects(t, helm(t, "template", "lkaas", chart, "--namespace", "lkaas-system",
				"--set", fmt.Sprint("multitenancy.enabled=", enabled), "--set", "multitenancy.defaultServiceAccount=tenant")) {
				switch obj.GetKind() {
				case "Deployment":
					containers, _, _ := unstructured.NestedSlice(obj.Object, "spec", "template", "spec", "containers")
					args, _, _ = unstructured.NestedSlice(containers[0].(map[string]any), "args")
				case "ClusterRole":
					if obj.GetName() != "lkaas" {
						// Not the controller's: aggregated into Cluster API's manager role, or
						// bound to the Helm add-on provider's account.
						continue
					}
					rules, _, _ := unstructured.NestedSlice(obj.Object, "rules")
					for _, r := range rules {
						verbs, _, _ := unstructured.NestedStringSlice(r.(map[string]any), "verbs")
						resources, _, _ := unstructured.NestedStringSlice(r.(map[string]any), "resources")
						if slices.Contains(verbs, "impersonate") {
							assert.Equal(t, []string{"serviceaccounts"}, resources, "impersonates only ServiceAccounts")
							impersonates = true
						}
						if enabled {
							groups, _, _ := unstructured.NestedStringSlice(r.(map[string]any), "apiGroups")
							assertOnlyOwnWrites(t, groups, resources, verbs)
						}
					}
				}
			}
			require.NotEmpty(t, args)
			assert.Equal(t, enabled, slices.Contains(args, any("--default-service-account=tenant")))
			assert.Equal(t, enabled, impersonates)
		})
	}
}

// assertOnlyOwnWrites: in the lockdown the controller writes only events, status (an
// ExistingCluster's and an ExistingControlPlane's contract status included), and its own bookkeeping on the L-KaaS kinds
// (finalizers, a Cluster's applied record), by patch; every other write is the tenant's
// account's.
func assertOnlyOwnWrites(t *testing.T, groups, resources, verbs []string) {
	t.Helper()
	own := []string{"fleets", "clusters", "logicalclusters", "fleets/status", "clusters/status", "logicalclusters/status",
		"existingclusters/status", "existingcontrolplanes/status"}
	lkaasGroups := []string{"automation.dcn.ssu.ac.kr", "intent.automation.dcn.ssu.ac.kr", "infrastructure.automation.dcn.ssu.ac.kr",
		"controlplane.automation.dcn.ssu.ac.kr"}
	for _, verb := range verbs {
		switch verb {
		case "get", "list", "watch", "impersonate":
		case "patch":
			for _, g := range groups {
				for _, r := range resources {
					ok := (slices.Contains(lkaasGroups, g) && slices.Contains(own, r)) || r == "events"
					assert.True(t, ok, "the controller may patch %s.%s itself", r, g)
				}
			}
		case "create":
			assert.Equal(t, []string{"events"}, resources, "the controller may create %v itself", resources)
		default:
			t.Errorf("the controller may %s %v itself", verb, resources)
		}
	}
}

// The status page is on by default: the controller gets --web-addr, a Service exposes the
// port inside the cluster, and a NetworkPolicy admits only the release namespace (or
// web.allowFrom) to it while metrics and probes stay reachable. Off, all three are gone.
func TestChartStatusPage(t *testing.T) {
	render := func(args ...string) (deployArgs []any, services, policies map[string]*unstructured.Unstructured) {
		services, policies = map[string]*unstructured.Unstructured{}, map[string]*unstructured.Unstructured{}
		for _, obj := range objects(t, helm(t, append([]string{"template", "lkaas", chart, "--namespace", "lkaas-system"}, args...)...)) {
			switch obj.GetKind() {
			case "Deployment":
				containers, _, _ := unstructured.NestedSlice(obj.Object, "spec", "template", "spec", "containers")
				require.Len(t, containers, 1)
				deployArgs, _, _ = unstructured.NestedSlice(containers[0].(map[string]any), "args")
			case "Service":
				services[obj.GetName()] = obj
			case "NetworkPolicy":
				policies[obj.GetNamespace()+"/"+obj.GetName()] = obj
			}
		}
		return deployArgs, services, policies
	}

	args, services, policies := render()
	assert.Contains(t, args, "--web-addr=:8090")
	require.Contains(t, services, "lkaas-web")
	ports, _, _ := unstructured.NestedSlice(services["lkaas-web"].Object, "spec", "ports")
	assert.Equal(t, "web", ports[0].(map[string]any)["targetPort"])
	require.Contains(t, policies, "lkaas-system/lkaas-web")
	ingress, _, _ := unstructured.NestedSlice(policies["lkaas-system/lkaas-web"].Object, "spec", "ingress")
	require.Len(t, ingress, 2)
	from := ingress[0].(map[string]any)["from"].([]any)
	assert.Equal(t, map[string]any{"kubernetes.io/metadata.name": "lkaas-system"},
		from[0].(map[string]any)["namespaceSelector"].(map[string]any)["matchLabels"])
	assert.NotContains(t, ingress[1].(map[string]any), "from", "metrics and probes stay open to all")

	_, _, policies = render("--set-json", `web.allowFrom=[{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"auth-proxy"}}}]`)
	ingress, _, _ = unstructured.NestedSlice(policies["lkaas-system/lkaas-web"].Object, "spec", "ingress")
	from = ingress[0].(map[string]any)["from"].([]any)
	assert.Equal(t, map[string]any{"kubernetes.io/metadata.name": "auth-proxy"},
		from[0].(map[string]any)["namespaceSelector"].(map[string]any)["matchLabels"])

	args, services, policies = render("--set", "web.enabled=false")
	for _, a := range args {
		assert.NotContains(t, a, "--web-addr")
	}
	assert.NotContains(t, services, "lkaas-web")
	assert.NotContains(t, policies, "lkaas-system/lkaas-web")
}
