package charts

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/fluxcd/pkg/runtime/logger"
	"github.com/fluxcd/pkg/testserver"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
	"github.com/dcn-ssu/lkaas/internal/manager"
	"github.com/dcn-ssu/lkaas/internal/plane"
	"github.com/dcn-ssu/lkaas/internal/testenv"
)

const (
	releaseNamespace = "lkaas-system"
	serviceAccount   = "system:serviceaccount:lkaas-system:lkaas"
)

// auditEvent is the part of an API server audit event the test reads.
type auditEvent struct {
	// User is who authenticated (the controller, with its ServiceAccount's token);
	// Impersonated, who it acted as when it wrote as a tenant's ServiceAccount.
	User         struct{ Username string }  `json:"user"`
	Impersonated *struct{ Username string } `json:"impersonatedUser"`
	Verb         string                     `json:"verb"`
	RequestURI   string                     `json:"requestURI"`
	ObjectRef    *struct {
		APIGroup    string `json:"apiGroup"`
		Resource    string `json:"resource"`
		Subresource string `json:"subresource"`
	} `json:"objectRef"`
	ResponseStatus *struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
}

// The controller runs as the chart's ServiceAccount with exactly the chart's RBAC: the Fleets
// apply the repository, the LogicalCluster makes its members, the Cluster controller renders
// and applies their Cluster API objects, leader election takes its lease — and the API
// server refuses nothing. Then, against the audit log, every rule of the chart's ClusterRole
// was used: none is there for nothing.
func TestChartRBACIsWhatTheControllerUses(t *testing.T) {
	testChartRBAC(t, false)
}

// The same with multitenancy.enabled: each namespace's ServiceAccount, with the example
// tenant Role of gitops-examples/management, writes its clusters, members and Cluster API
// objects; the controller's own narrowed ClusterRole could not have written any of them.
func TestChartRBACLockdown(t *testing.T) {
	testChartRBAC(t, true)
}

func testChartRBAC(t *testing.T, lockdown bool) {
	audit := filepath.Join(t.TempDir(), "audit.log")
	env, err := testenv.Start(plane.WithFluxSourceCRDs(), plane.WithClusterAPICRDs(), plane.WithCAPDCRDs(),
		plane.WithHelmAddonCRDs(), plane.WithAuditLog(audit))
	require.NoError(t, err)
	t.Cleanup(func() { _ = env.Stop() })
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	for _, ns := range []string{releaseNamespace, "starlab"} {
		require.NoError(t, env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	}

	// Install the chart's ServiceAccount and RBAC for real.
	var role *rbacv1.ClusterRole
	var defaultServiceAccount string
	for _, obj := range objects(t, helm(t, "template", "lkaas", chart, "--namespace", releaseNamespace,
		"--set", fmt.Sprint("multitenancy.enabled=", lockdown))) {
		switch obj.GetKind() {
		case "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding":
			require.NoError(t, env.Client.Create(ctx, obj), obj.GetKind())
		case "Deployment":
			defaultServiceAccount = flagValue(t, obj, "--default-service-account")
		}
		// The controller's role; the other ClusterRoles are aggregated into CAPI's manager or
		// bound to the Helm add-on provider's account.
		if obj.GetKind() == "ClusterRole" && obj.GetName() == "lkaas" {
			role = &rbacv1.ClusterRole{}
			require.NoError(t, runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, role))
		}
	}
	require.NotNil(t, role)
	require.Equal(t, lockdown, defaultServiceAccount != "", "the chart sets --default-service-account exactly with the lockdown")
	if lockdown {
		// The tenants' accounts, as the management example installs them.
		root, err := plane.RepoRoot()
		require.NoError(t, err)
		data, err := os.ReadFile(filepath.Join(root, "gitops-examples", "management", "infrastructure", "configs", "tenant-rbac.yaml"))
		require.NoError(t, err)
		for _, obj := range objects(t, string(data)) {
			require.NoError(t, env.Client.Create(ctx, obj), obj.GetKind())
			if obj.GetKind() == "ServiceAccount" {
				require.Equal(t, defaultServiceAccount, obj.GetName(), "the example's accounts are the chart's default")
			}
		}
	}

	revision := publish(ctx, t, env)
	for _, f := range []struct{ ns, name, path string }{{"default", "platform", "profiles"}, {"starlab", "starlab", "tenants/starlab"}} {
		require.NoError(t, env.Client.Create(ctx, &automationv1alpha1.Fleet{
			ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: f.name},
			Spec: automationv1alpha1.FleetSpec{SourceRef: automationv1alpha1.SourceReference{Kind: sourcev1.GitRepositoryKind, Name: "fleet-repo"},
				Path: f.path, Interval: metav1.Duration{Duration: 10 * time.Minute}, Prune: true,
				// The tenant's first pass may come before the platform's profiles exist.
				RetryInterval: &metav1.Duration{Duration: 2 * time.Second}},
		}))
	}

	// The controller, as the ServiceAccount, with a token the API server issued (as a pod's
	// is): its impersonation of the tenants' accounts is checked against the chart's RBAC.
	// Its watches are counted, so the test can wait until the API server has logged them all.
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: releaseNamespace, Name: "lkaas"}}
	token := &authenticationv1.TokenRequest{}
	require.NoError(t, env.Client.SubResource("token").Create(ctx, sa, token))
	cfg := &rest.Config{Host: env.Config.Host, TLSClientConfig: rest.TLSClientConfig{CAData: env.Config.CAData},
		BearerToken: token.Status.Token, QPS: env.Config.QPS, Burst: env.Config.Burst}
	watches := &watchLog{}
	cfg.WrapTransport = watches.wrap
	opts := manager.Options{MetricsAddr: "0", HealthAddr: "0", ConcurrentReconciles: 2, LeaderElectionNS: releaseNamespace,
		SharedProfileNamespaces: []string{"default"}, DefaultServiceAccount: defaultServiceAccount,
		// The lockdown run starts a second manager in this process.
		SkipNameValidation: true}
	opts.LeaderElection.Enable = true
	opts.LeaderElection.LeaseDuration, opts.LeaderElection.RenewDeadline, opts.LeaderElection.RetryPeriod = 15*time.Second, 10*time.Second, 2*time.Second
	opts.Logger = logger.Options{LogEncoding: "console", LogLevel: "error"}
	// The status page, on by default in the chart, reads through the same RBAC.
	webAddr := make(chan string, 1)
	opts.WebAddr, opts.WebListening = "127.0.0.1:0", func(a string) { webAddr <- a }
	mgr, err := manager.New(cfg, opts)
	require.NoError(t, err)
	mgrCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mgrCtx) }()

	works := assert.Eventually(t, func() bool {
		var capi unstructured.UnstructuredList
		capi.SetAPIVersion("cluster.x-k8s.io/v1beta2")
		capi.SetKind("ClusterList")
		if env.Client.List(ctx, &capi, client.InNamespace("starlab")) != nil || len(capi.Items) < 2 {
			return false
		}
		var lc intentv1.LogicalCluster
		if env.Client.Get(ctx, client.ObjectKey{Namespace: "starlab", Name: "mec-cluster"}, &lc) != nil {
			return false
		}
		for _, name := range []string{"platform", "starlab"} {
			ns := map[string]string{"platform": "default", "starlab": "starlab"}[name]
			var f automationv1alpha1.Fleet
			if env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &f) != nil ||
				f.Status.LastAppliedRevision != revision || !conditions.IsReady(&f) {
				return false
			}
		}
		return lc.Status.TotalMembers == 2
	}, 3*time.Minute, 500*time.Millisecond, "the controller works with the chart's RBAC")
	if !works {
		for _, key := range []client.ObjectKey{{Namespace: "default", Name: "platform"}, {Namespace: "starlab", Name: "starlab"}} {
			var f automationv1alpha1.Fleet
			_ = env.Client.Get(ctx, key, &f)
			t.Logf("Fleet %s: revision %q, %s", key, f.Status.LastAppliedRevision, conditions.GetMessage(&f, meta.ReadyCondition))
		}
		var clusters automationv1alpha1.ClusterList
		_ = env.Client.List(ctx, &clusters, client.InNamespace("starlab"))
		for _, c := range clusters.Items {
			t.Logf("Cluster %s: %s %s", c.Name, c.Status.Phase, conditions.GetMessage(&c, meta.ReadyCondition))
		}
	}

	// CAPI reports the control planes up (the test plays CAPI): the Cluster controller then
	// installs the network add-on (a ClusterResourceSet) and reads its bindings.
	var capi unstructured.UnstructuredList
	capi.SetAPIVersion("cluster.x-k8s.io/v1beta2")
	capi.SetKind("ClusterList")
	require.NoError(t, env.Client.List(ctx, &capi, client.InNamespace("starlab")))
	for i := range capi.Items {
		c := &capi.Items[i]
		now := metav1.Now().UTC().Format(time.RFC3339)
		_ = unstructured.SetNestedSlice(c.Object, []any{
			map[string]any{"type": "ControlPlaneInitialized", "status": "True", "reason": "Test", "message": "", "lastTransitionTime": now},
			map[string]any{"type": "Available", "status": "True", "reason": "Test", "message": "", "lastTransitionTime": now},
		}, "status", "conditions")
		require.NoError(t, env.Client.Status().Update(ctx, c))
	}
	assert.Eventually(t, func() bool {
		var crs unstructured.UnstructuredList
		crs.SetAPIVersion("addons.cluster.x-k8s.io/v1beta2")
		crs.SetKind("ClusterResourceSetList")
		return env.Client.List(ctx, &crs, client.InNamespace("starlab")) == nil && len(crs.Items) > 0
	}, time.Minute, 500*time.Millisecond, "the network add-on is installed")

	// Every page of the status page, a cluster's (events, CAPI objects) included.
	page := "http://" + <-webAddr
	var members automationv1alpha1.ClusterList
	require.NoError(t, env.Client.List(ctx, &members, client.InNamespace("starlab")))
	require.NotEmpty(t, members.Items)
	for _, path := range []string{"/", "/logicalclusters/starlab/mec-cluster", "/clusters/starlab/" + members.Items[0].Name, "/fleets/starlab/starlab/history"} {
		resp, err := http.Get(page + path)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, path)
	}

	time.Sleep(3 * time.Second) // let the passes after the last change finish
	stop()
	require.NoError(t, <-done)
	// Informers read by watch (sendInitialEvents): the API server logs a watch when it ends.
	// Wait until it has logged every watch the controller opened.
	var unlogged []string
	if !assert.Eventually(t, func() bool {
		logged := map[string]int{}
		readAudit(t, audit, func(e auditEvent) {
			if e.User.Username == serviceAccount && e.Verb == "watch" {
				logged[e.RequestURI]++
			}
		})
		unlogged = watches.notIn(logged)
		return len(unlogged) == 0
	}, time.Minute, 100*time.Millisecond) {
		t.Fatalf("watches the API server never logged: %v", unlogged)
	}

	used := map[string]bool{} // "group/resource[/subresource] verb"
	var refused []string
	tenantWrites := map[string]bool{} // "group/resource verb", made as a tenant's account
	readAudit(t, audit, func(e auditEvent) {
		if e.User.Username != serviceAccount || e.ObjectRef == nil {
			return
		}
		resource := e.ObjectRef.Resource
		if e.ObjectRef.Subresource != "" {
			resource += "/" + e.ObjectRef.Subresource
		}
		if e.ResponseStatus != nil && e.ResponseStatus.Code == 403 {
			refused = append(refused, fmt.Sprintf("%s %s", e.Verb, e.RequestURI))
		}
		if e.Impersonated != nil {
			// Allowed to impersonate, the request then ran on the tenant's RBAC.
			used["/serviceaccounts impersonate"], used["/serviceaccounts *any*"] = true, true
			tenantWrites[e.ObjectRef.APIGroup+"/"+resource+" "+e.Verb] = true
			return
		}
		used[e.ObjectRef.APIGroup+"/"+resource+" "+e.Verb] = true
		used[e.ObjectRef.APIGroup+"/"+resource+" *any*"] = true
	})
	assert.Empty(t, refused, "requests the chart's (or the tenant's) RBAC refused")
	if lockdown {
		// The tenant's account made the clusters: the Fleet's, the LogicalCluster's members,
		// their Cluster API objects and add-ons.
		for _, w := range []string{"automation.dcn.ssu.ac.kr/clusters patch", "intent.automation.dcn.ssu.ac.kr/logicalclusters patch",
			"cluster.x-k8s.io/clusters patch", "addons.cluster.x-k8s.io/clusterresourcesets patch"} {
			assert.True(t, tenantWrites[w], "no %s as a tenant's account", w)
		}
		assertControllerCannotWrite(ctx, t, env)
	} else {
		assert.Empty(t, tenantWrites, "no Fleet writes as a tenant without the lockdown")
	}
	if os.Getenv("DEBUG_AUDIT") != "" {
		data, _ := os.ReadFile(audit)
		_ = os.WriteFile(os.Getenv("DEBUG_AUDIT"), data, 0o644)
	}

	// Every granted resource was used. Verbs are granted per resource group as the controller
	// needs them over a longer life (deletes when Git drops an object, updates of finalizers);
	// this flow shows the resources are needed at all.
	var unused []string
	for _, rule := range role.Rules {
		for _, group := range rule.APIGroups {
			for _, resource := range rule.Resources {
				if resource == "*" || notExercisedHere[group+"/"+resource] != "" {
					continue
				}
				if !used[group+"/"+resource+" *any*"] {
					unused = append(unused, group+"/"+resource)
				}
			}
		}
	}
	assert.Empty(t, unused, "ClusterRole rules this run never used; drop them or list why in notExercisedHere")
}

// assertControllerCannotWrite asks the API server whether the chart's ServiceAccount, alone,
// may write what a tenant's repository makes: with the lockdown it may not.
func assertControllerCannotWrite(ctx context.Context, t *testing.T, env *testenv.Env) {
	t.Helper()
	for _, gr := range []struct{ group, resource string }{
		{"automation.dcn.ssu.ac.kr", "clusters"}, {"automation.dcn.ssu.ac.kr", "infrastructureprofiles"},
		{"intent.automation.dcn.ssu.ac.kr", "logicalclusters"}, {"cluster.x-k8s.io", "clusters"},
		{"controlplane.cluster.x-k8s.io", "kubeadmcontrolplanes"}, {"infrastructure.cluster.x-k8s.io", "dockerclusters"},
		{"addons.cluster.x-k8s.io", "clusterresourcesets"}, {"", "configmaps"}, {"", "secrets"},
	} {
		for _, verb := range []string{"create", "delete"} {
			review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
				User: serviceAccount, Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + releaseNamespace, "system:authenticated"},
				ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: "starlab", Verb: verb, Group: gr.group, Resource: gr.resource},
			}}
			require.NoError(t, env.Client.Create(ctx, review))
			assert.False(t, review.Status.Allowed, "the controller's own identity may %s %s.%s", verb, gr.resource, gr.group)
		}
	}
}

// flagValue is the value of a --name=value argument of the Deployment's container, "" if absent.
func flagValue(t *testing.T, deploy *unstructured.Unstructured, name string) string {
	t.Helper()
	containers, _, err := unstructured.NestedSlice(deploy.Object, "spec", "template", "spec", "containers")
	require.NoError(t, err)
	args, _, _ := unstructured.NestedStringSlice(containers[0].(map[string]any), "args")
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
	}
	return ""
}

// watchLog counts the watch requests a client sends, by request URI.
type watchLog struct {
	mu   sync.Mutex
	sent map[string]int
}

func (w *watchLog) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.URL.Query().Get("watch") == "true" {
			w.mu.Lock()
			if w.sent == nil {
				w.sent = map[string]int{}
			}
			w.sent[r.URL.RequestURI()]++
			w.mu.Unlock()
		}
		return rt.RoundTrip(r)
	})
}

// notIn lists the watches sent more often than logged says the API server logged them.
func (w *watchLog) notIn(logged map[string]int) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var missing []string
	for uri, n := range w.sent {
		if logged[uri] < n {
			missing = append(missing, uri)
		}
	}
	sort.Strings(missing)
	return missing
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// ownerReferencesCheck: setting an owner reference with blockOwnerDeletion needs "update" on
// the owner's finalizers where the OwnerReferencesPermissionEnforcement admission plugin runs
// (OpenShift, hardened clusters). It is an authorization check, not a request of its own, so
// the audit log cannot show it.
const ownerReferencesCheck = "blockOwnerDeletion owner references (admission check, no request)"

// notExercisedHere are rules the flow above does not reach, with the code path that needs
// them.
var notExercisedHere = map[string]string{
	"automation.dcn.ssu.ac.kr/fleets/finalizers":                         ownerReferencesCheck,
	"automation.dcn.ssu.ac.kr/clusters/finalizers":                       ownerReferencesCheck,
	"intent.automation.dcn.ssu.ac.kr/logicalclusters/finalizers":         ownerReferencesCheck,
	"addons.cluster.x-k8s.io/helmchartproxies":                           "Software add-ons with a chart (cluster_addons.go); the test fleet has none",
	"addons.cluster.x-k8s.io/helmreleaseproxies":                         "read only where a HelmChartProxy exists",
	"infrastructure.automation.dcn.ssu.ac.kr/existingclusters":           "existing clusters with add-ons (cluster_existing_addons.go); the test fleet has none",
	"infrastructure.automation.dcn.ssu.ac.kr/existingclusters/status":    "existing clusters with add-ons, once their API server answers",
	"controlplane.automation.dcn.ssu.ac.kr/existingcontrolplanes":        "existing clusters with add-ons (cluster_existing_addons.go); the test fleet has none",
	"controlplane.automation.dcn.ssu.ac.kr/existingcontrolplanes/status": "existing clusters with add-ons, once their API server answers",
	"events.k8s.io/events":                                               "events are recorded through whichever API the recorder picks",
	"/events":                                                            "events are recorded through whichever API the recorder picks",
}

func readAudit(t *testing.T, path string, each func(auditEvent)) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 1024*1024), 16*1024*1024)
	for scanner.Scan() {
		var e auditEvent
		if json.Unmarshal(scanner.Bytes(), &e) == nil {
			each(e)
		}
	}
	require.NoError(t, scanner.Err())
}

// publish serves the example profiles and the test tenant as a Flux artifact and points a
// GitRepository in each namespace at it, as source-controller would.
func publish(ctx context.Context, t *testing.T, env *testenv.Env) string {
	t.Helper()
	dir := t.TempDir()
	root, err := plane.RepoRoot()
	require.NoError(t, err)
	copyTree(t, filepath.Join(root, "gitops-examples", "fleet-repo", "profiles"), filepath.Join(dir, "profiles"))
	copyTree(t, filepath.Join(root, "gitops-examples", "fleet-repo", "templates"), filepath.Join(dir, "templates"))
	copyTree(t, "testdata/fleet/tenants", filepath.Join(dir, "tenants"))
	// The example profiles name manifests under addons/; the test tenant's own go beside them.
	copyTree(t, filepath.Join(root, "gitops-examples", "fleet-repo", "addons"), filepath.Join(dir, "addons"))
	copyTree(t, "testdata/fleet/addons/.", filepath.Join(dir, "addons"))

	server, err := testserver.NewTempArtifactServer()
	require.NoError(t, err)
	server.Start()
	t.Cleanup(func() { server.Stop(); _ = os.RemoveAll(server.Root()) })
	sum, err := server.ArtifactFromDir(dir, "fleet.tar.gz")
	require.NoError(t, err)
	url, err := server.URLForFile("fleet.tar.gz")
	require.NoError(t, err)
	revision := "main@sha256:" + sum[:12]
	for _, ns := range []string{"default", "starlab"} {
		repo := &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "fleet-repo"},
			Spec: sourcev1.GitRepositorySpec{URL: "http://127.0.0.1/fleet.git", Interval: metav1.Duration{Duration: time.Hour}}}
		require.NoError(t, env.Client.Create(ctx, repo))
		repo.Status.Artifact = &meta.Artifact{Path: "fleet.tar.gz", URL: url, Revision: revision, Digest: "sha256:" + sum, LastUpdateTime: metav1.Now()}
		conditions.MarkTrue(repo, meta.ReadyCondition, meta.SucceededReason, "stored artifact for revision %s", revision)
		require.NoError(t, env.Client.Status().Update(ctx, repo))
	}
	return revision
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	out, err := exec.Command("cp", "-r", from, to).CombinedOutput()
	require.NoError(t, err, string(out))
}
