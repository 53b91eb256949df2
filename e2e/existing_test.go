//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
	"github.com/dcn-ssu/lkaas/internal/emco/emcotest"
	"github.com/dcn-ssu/lkaas/internal/plane"
)

const (
	existingNamespace = "mixed"
	existingMember    = "core"
	// The network add-on of the existing member: one ConfigMap its ClusterResourceSet applies.
	existingMarker = "lkaas-e2e-network"
)

// existingRepository is a fleet repository of one logical cluster: the existing cluster
// "core", with a network add-on of plain manifests, beside two CAPD in-memory clusters.
func existingRepository(t *testing.T, dir string) {
	t.Helper()
	root, err := plane.RepoRoot()
	require.NoError(t, err)
	examples := filepath.Join(root, "gitops-examples", "fleet-repo")
	for _, sub := range []string{"profiles", "templates", "addons"} {
		require.NoError(t, os.CopyFS(filepath.Join(dir, sub), os.DirFS(filepath.Join(examples, sub))))
	}
	profiles, err := filepath.Glob(filepath.Join(dir, "profiles", "*.yaml"))
	require.NoError(t, err)
	for _, p := range profiles {
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(p, []byte(strings.ReplaceAll(string(data), "namespace: default", "namespace: "+existingNamespace)), 0o644))
	}
	files := map[string]string{
		"addons/e2e/marker.yaml": fmt.Sprintf(`apiVersion: v1
kind: ConfigMap
metadata:
  name: %s
  namespace: kube-system
data:
  installedBy: a ClusterResourceSet, through CAPI's ClusterCache
`, existingMarker),
		"tenant/mixed.yaml": fmt.Sprintf(`apiVersion: automation.dcn.ssu.ac.kr/v1alpha1
kind: InfrastructureProfile
metadata:
  name: marker-net-1.0.0
  namespace: %[1]s
spec:
  profileName: marker-net
  type: Network
  revision: 1.0.0
  values:
    manifests: [addons/e2e/marker.yaml]
---
apiVersion: automation.dcn.ssu.ac.kr/v1alpha1
kind: ClusterCatalog
metadata:
  name: in-memory
  namespace: %[1]s
spec:
  infrastructure:
    provider: in-memory
    profile: {name: in-memory-medium-cluster, type: Infrastructure, revision: 1.0.0}
    override: {kubernetesVersion: v1.34.1, controlPlaneMachineCount: 1}
  network:
    name: calico-v1
    profile: {name: calico-v1-default, type: Network, revision: 1.0.0}
---
apiVersion: intent.automation.dcn.ssu.ac.kr/v1
kind: LogicalCluster
metadata:
  name: mixed-cluster
  namespace: %[1]s
  labels:
    automation.dcn.ssu.ac.kr/project: dcn
spec:
  clusters:
    - name: %[2]s
      labels: {automation.dcn.ssu.ac.kr/managed-by: emco-mec-central-mgmt}
      existing: {}
      network:
        name: marker
        profile: {name: marker-net, type: Network, revision: 1.0.0}
    - name: edge-a
      labels: {automation.dcn.ssu.ac.kr/managed-by: emco-mec-central-mgmt}
      clusterCatalog: in-memory
    - name: edge-b
      labels: {automation.dcn.ssu.ac.kr/managed-by: emco-mec-central-mgmt}
      clusterCatalog: in-memory
`, existingNamespace, existingMember),
	}
	for path, content := range files {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, path)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, path), []byte(content), 0o644))
	}
}

// Issue 20: a logical cluster of an existing cluster (another kube-apiserver, with its own
// kubeconfig in core-kubeconfig) and two CAPD in-memory clusters becomes Ready, all three
// registered in EMCO with one logical cloud; the existing member's network add-on reaches its
// API server through CAPI (a ClusterResourceSet, through the CAPI Cluster, ExistingCluster and
// ExistingControlPlane L-KaaS represents it with), and CAPI reports its control plane
// initialized (what the Helm add-on provider waits for) without touching its kubeconfig
// Secret; a stop of its API server turns it False with the reason and a
// start brings it back; removing it from Git deregisters it and leaves its API server, its
// data and its kubeconfig Secret alone.
func TestExistingMemberBesideBuiltMembers(t *testing.T) {
	ctx := context.Background()
	c := mgmt.APIServer.Client
	lap := stopwatch(t)
	emu, emcoURL := emcotest.Start(t)

	// The cluster built by other means: an API server and etcd of its own, with data.
	other, err := plane.Start()
	require.NoError(t, err)
	t.Cleanup(func() { _ = other.Stop() })
	precious := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "precious"}, Data: map[string]string{"keep": "me"}}
	require.NoError(t, other.Client.Create(ctx, precious))
	kubeconfig, err := other.Kubeconfig()
	require.NoError(t, err)
	ensureNamespace(t, existingNamespace)
	// The operator's Secret, in CAPI's format; the label lets CAPI's managers read it.
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: existingNamespace, Name: existingMember + "-kubeconfig",
		Labels: map[string]string{"cluster.x-k8s.io/cluster-name": existingMember}},
		Type: "cluster.x-k8s.io/secret", Data: map[string][]byte{"value": kubeconfig}}
	require.NoError(t, c.Create(ctx, secret))
	t.Cleanup(func() { _ = c.Delete(context.Background(), secret) })
	lap("started the existing cluster's API server; its kubeconfig Secret written")

	dir := t.TempDir()
	existingRepository(t, dir)
	require.NoError(t, gitServer.InitRepo(dir, "main", "lkaas/mixed.git"))
	url := gitServer.HTTPAddress() + "/lkaas/mixed.git"
	repo := &sourcev1.GitRepository{
		ObjectMeta: metav1.ObjectMeta{Namespace: existingNamespace, Name: "mixed"},
		Spec: sourcev1.GitRepositorySpec{URL: url, Interval: metav1.Duration{Duration: time.Minute},
			Reference: &sourcev1.GitRepositoryRef{Branch: "main"}},
	}
	require.NoError(t, c.Create(ctx, repo))
	fleet := &automationv1alpha1.Fleet{
		ObjectMeta: metav1.ObjectMeta{Namespace: existingNamespace, Name: "mixed"},
		Spec: automationv1alpha1.FleetSpec{
			SourceRef:     automationv1alpha1.SourceReference{Kind: sourcev1.GitRepositoryKind, Name: repo.Name},
			Interval:      metav1.Duration{Duration: 10 * time.Minute},
			RetryInterval: &metav1.Duration{Duration: 2 * time.Second},
			Prune:         true,
			EMCO: &automationv1alpha1.EMCOSettings{Endpoints: []automationv1alpha1.EMCOEndpoint{
				{Name: "emco-mec-central-mgmt", URL: emcoURL},
			}},
		},
	}
	require.NoError(t, c.Create(ctx, fleet))
	t.Cleanup(func() {
		_ = c.Delete(context.Background(), fleet)
		wait(t, 5*time.Minute, "Fleet deletion", func() (bool, string) {
			var capi unstructured.UnstructuredList
			capi.SetAPIVersion("cluster.x-k8s.io/v1beta2")
			capi.SetKind("ClusterList")
			err := c.List(context.Background(), &capi, client.InNamespace(existingNamespace))
			return err == nil && len(capi.Items) == 0, fmt.Sprintf("%d CAPI clusters left", len(capi.Items))
		})
		_ = c.Delete(context.Background(), repo)
	})

	lcKey := client.ObjectKey{Namespace: existingNamespace, Name: "mixed-cluster"}
	wait(t, 10*time.Minute, "a Ready logical cluster of three", func() (bool, string) {
		var lc intentv1.LogicalCluster
		if err := c.Get(ctx, lcKey, &lc); err != nil {
			return false, err.Error()
		}
		return lc.Status.ReadyMembers == 3 && lc.Status.Phase == automationv1alpha1.ClusterPhaseReady,
			fmt.Sprintf("%s %d/%d: %s", lc.Status.Phase, lc.Status.ReadyMembers, lc.Status.TotalMembers, conditions.GetMessage(&lc, meta.ReadyCondition))
	})
	lap("the logical cluster Ready: the existing member and two CAPD in-memory members")

	all := []string{existingNamespace + "+" + existingMember, existingNamespace + "+edge-a", existingNamespace + "+edge-b"}
	wait(t, 2*time.Minute, "one logical cloud of the three members", func() (bool, string) {
		cloud, ok := emu.State().LogicalCloud("dcn", "mixed-cluster")
		return ok && slices.Equal(cloudRefs(cloud), all) && cloud.DeployedStatus == "Instantiated", fmt.Sprintf("%+v", cloud)
	})
	registered, ok := emu.State().Cluster(existingNamespace, existingMember)
	require.True(t, ok)
	assert.Equal(t, string(kubeconfig), string(registered.Kubeconfig), "EMCO gets the existing cluster's own kubeconfig")
	lap("all three registered in EMCO; one logical cloud instantiated")

	// The add-on reaches the existing cluster through CAPI, and L-KaaS reports it applied.
	wait(t, 3*time.Minute, "the network add-on on the existing cluster", func() (bool, string) {
		cm := &corev1.ConfigMap{}
		err := other.Client.Get(ctx, client.ObjectKey{Namespace: "kube-system", Name: existingMarker}, cm)
		if err != nil {
			return false, "on its API server: " + err.Error() + "; " + capiClusterState(t, existingMember)
		}
		return true, ""
	})
	wait(t, 2*time.Minute, "the add-on reported applied", func() (bool, string) {
		m := member(t, existingMember)
		return len(m.Status.Addons) == 1 && m.Status.Addons[0].Applied, fmt.Sprintf("%+v", m.Status.Addons)
	})
	lap("the existing member's ClusterResourceSet applied on its API server")

	// CAPI's Cluster controller takes the control plane's initialization from the
	// ExistingControlPlane (controlPlaneRef): the v1beta2 field and condition, and the
	// deprecated v1beta1 condition, all that the Helm add-on provider may read; and, a control
	// plane being named, it leaves the operator's kubeconfig Secret alone.
	wait(t, 2*time.Minute, "CAPI reporting the existing control plane initialized", func() (bool, string) {
		capi := capiCluster(t, existingNamespace, existingMember)
		ref, _, _ := unstructured.NestedString(capi.Object, "spec", "controlPlaneRef", "kind")
		initialized, _, _ := unstructured.NestedBool(capi.Object, "status", "initialization", "controlPlaneInitialized")
		v1beta2 := conditionStatus(capi, "status", "conditions")
		v1beta1 := conditionStatus(capi, "status", "deprecated", "v1beta1", "conditions")
		return ref == "ExistingControlPlane" && initialized && v1beta2["ControlPlaneInitialized"] == "True" &&
				v1beta1["ControlPlaneInitialized"] == "True" && v1beta2["ControlPlaneAvailable"] == "True",
			fmt.Sprintf("controlPlaneRef %q; %s; v1beta2 %v; v1beta1 %v", ref, capiClusterState(t, existingMember), v1beta2, v1beta1)
	})
	cp := &unstructured.Unstructured{}
	cp.SetAPIVersion("controlplane.automation.dcn.ssu.ac.kr/v1alpha1")
	cp.SetKind("ExistingControlPlane")
	require.NoError(t, c.Get(ctx, client.ObjectKey{Namespace: existingNamespace, Name: existingMember}, cp))
	assert.Equal(t, existingMember, cp.GetLabels()["cluster.x-k8s.io/cluster-name"], "CAPI labelled its control plane")
	assert.True(t, slices.ContainsFunc(cp.GetOwnerReferences(), func(r metav1.OwnerReference) bool {
		return r.Kind == "Cluster" && r.APIVersion == "cluster.x-k8s.io/v1beta2"
	}), "and owns it: %v", cp.GetOwnerReferences())
	untouched := &corev1.Secret{}
	require.NoError(t, c.Get(ctx, client.ObjectKeyFromObject(secret), untouched))
	assert.Equal(t, secret.ResourceVersion, untouched.ResourceVersion, "nobody wrote the kubeconfig Secret")
	assert.Empty(t, untouched.OwnerReferences)
	lap("CAPI: the existing control plane initialized and available, the kubeconfig Secret untouched")

	// Its API server stops: not Available, with the reason; back when it starts.
	apiServer, err := other.Part(plane.KubeAPIServer)
	require.NoError(t, err)
	require.NoError(t, apiServer.Stop())
	wait(t, 2*time.Minute, "the existing member unavailable", func() (bool, string) {
		m := member(t, existingMember)
		cond := conditions.Get(m, "Available")
		return cond != nil && cond.Status == metav1.ConditionFalse && cond.Reason == "APIServerUnreachable" && !conditions.IsReady(m),
			conditions.GetMessage(m, meta.ReadyCondition)
	})
	m := member(t, existingMember)
	assert.Contains(t, conditions.GetMessage(m, meta.ReadyCondition), "does not answer")
	wait(t, 2*time.Minute, "CAPI reporting the existing control plane unavailable", func() (bool, string) {
		capi := capiCluster(t, existingNamespace, existingMember)
		initialized, _, _ := unstructured.NestedBool(capi.Object, "status", "initialization", "controlPlaneInitialized")
		v1beta2 := conditionStatus(capi, "status", "conditions")
		return initialized && v1beta2["ControlPlaneAvailable"] == "False", fmt.Sprintf("initialized %v, conditions %v", initialized, v1beta2)
	})
	lap("its API server stopped: Available and Ready False, APIServerUnreachable; CAPI's ControlPlaneAvailable False, still initialized")
	require.NoError(t, apiServer.Start())
	wait(t, 2*time.Minute, "the existing member Ready again", func() (bool, string) {
		m := member(t, existingMember)
		return conditions.IsReady(m) && conditions.IsTrue(m, "Available"), conditions.GetMessage(m, meta.ReadyCondition)
	})
	lap("its API server started again: Ready")

	// Removed from Git: deregistered, its representation gone; the cluster, its data and the
	// Secret stay.
	head := pushChange(t, url, "remove the existing member", func(dir string) {
		p := filepath.Join(dir, "tenant", "mixed.yaml")
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		doc := string(data)
		i := strings.Index(doc, "    - name: "+existingMember+"\n")
		j := strings.Index(doc, "    - name: edge-a\n")
		require.True(t, i > 0 && j > i)
		require.NoError(t, os.WriteFile(p, []byte(doc[:i]+doc[j:]), 0o644))
	})
	reconcileNow(t, repo)
	wait(t, 3*time.Minute, "the existing member out of EMCO", func() (bool, string) {
		st := emu.State()
		cloud, _ := st.LogicalCloud("dcn", "mixed-cluster")
		_, still := st.Cluster(existingNamespace, existingMember)
		return !still && slices.Equal(cloudRefs(cloud), all[1:]), fmt.Sprintf("registered: %v, cloud: %v", still, cloudRefs(cloud))
	})
	wait(t, 3*time.Minute, "the member and its representation gone", func() (bool, string) {
		var left []string
		for _, o := range []struct{ apiVersion, kind string }{
			{automationv1alpha1.GroupVersion.String(), "Cluster"}, {"cluster.x-k8s.io/v1beta2", "Cluster"},
			{"infrastructure.automation.dcn.ssu.ac.kr/v1alpha1", "ExistingCluster"},
			{"controlplane.automation.dcn.ssu.ac.kr/v1alpha1", "ExistingControlPlane"},
		} {
			u := &unstructured.Unstructured{}
			u.SetAPIVersion(o.apiVersion)
			u.SetKind(o.kind)
			if err := c.Get(ctx, client.ObjectKey{Namespace: existingNamespace, Name: existingMember}, u); !apierrors.IsNotFound(err) {
				left = append(left, o.apiVersion+" "+o.kind)
			}
		}
		return len(left) == 0, strings.Join(left, ", ")
	})
	lap("removed from Git (%s): deregistered, its Cluster, CAPI Cluster, ExistingCluster and ExistingControlPlane gone", head[:12])
	// The garbage collector has had the CAPI Cluster's deletion to act on: the Secret stays.
	kept := &corev1.Secret{}
	require.NoError(t, c.Get(ctx, client.ObjectKeyFromObject(secret), kept), "the kubeconfig Secret is the operator's")
	assert.Equal(t, kubeconfig, kept.Data["value"])
	cm := &corev1.ConfigMap{}
	require.NoError(t, other.Client.Get(ctx, client.ObjectKeyFromObject(precious), cm), "the existing cluster still answers")
	assert.Equal(t, precious.Data, cm.Data, "its data untouched")
	require.NoError(t, other.Client.Get(ctx, client.ObjectKey{Namespace: "kube-system", Name: existingMarker}, cm),
		"what was installed on it stays: L-KaaS never deletes on the cluster itself")
	var lc intentv1.LogicalCluster
	require.NoError(t, c.Get(ctx, lcKey, &lc))
	assert.Equal(t, int32(2), lc.Status.TotalMembers)
	lap("the existing cluster, its data and its kubeconfig Secret untouched")
}

// member reads a member Cluster of the test's logical cluster.
func member(t *testing.T, name string) *automationv1alpha1.Cluster {
	t.Helper()
	m := &automationv1alpha1.Cluster{}
	require.NoError(t, mgmt.APIServer.Client.Get(context.Background(), client.ObjectKey{Namespace: existingNamespace, Name: name}, m))
	return m
}

// conditionStatus maps the type of each condition in the list at path to its status.
func conditionStatus(u *unstructured.Unstructured, path ...string) map[string]string {
	list, _, _ := unstructured.NestedSlice(u.Object, path...)
	out := map[string]string{}
	for _, item := range list {
		if m, ok := item.(map[string]any); ok {
			typ, _ := m["type"].(string)
			status, _ := m["status"].(string)
			out[typ] = status
		}
	}
	return out
}

// capiClusterState says what CAPI reports of a CAPI Cluster, for a failure message.
func capiClusterState(t *testing.T, name string) string {
	t.Helper()
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("cluster.x-k8s.io/v1beta2")
	u.SetKind("Cluster")
	if err := mgmt.APIServer.Client.Get(context.Background(), client.ObjectKey{Namespace: existingNamespace, Name: name}, u); err != nil {
		return "CAPI Cluster: " + err.Error()
	}
	init, _, _ := unstructured.NestedMap(u.Object, "status", "initialization")
	endpoint, _, _ := unstructured.NestedMap(u.Object, "spec", "controlPlaneEndpoint")
	return fmt.Sprintf("CAPI Cluster initialization %v, endpoint %v", init, endpoint)
}

// cloudRefs lists a logical cloud's cluster references as provider+cluster, sorted.
func cloudRefs(cloud emcotest.LogicalCloudState) []string {
	var refs []string
	for _, r := range cloud.References {
		refs = append(refs, r.Provider+"+"+r.Cluster)
	}
	slices.Sort(refs)
	return refs
}

// A representation written before the ExistingControlPlane existed (a CAPI Cluster with only
// an infrastructureRef, as L-KaaS wrote it before) gains a controlPlaneRef on its next apply:
// CAPI's real admission webhook accepts adding the ref (it refuses only removing one), and
// its Cluster controller then takes the control plane's initialization from the
// ExistingControlPlane without writing the kubeconfig Secret; deleting the Cluster deletes
// both of L-KaaS's kinds and leaves the Secret.
func TestExistingRepresentationGainsControlPlaneRef(t *testing.T) {
	ctx := context.Background()
	c := mgmt.APIServer.Client
	const ns, name = "legacy", "old-core"
	ensureNamespace(t, ns)
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-kubeconfig",
		Labels: map[string]string{"cluster.x-k8s.io/cluster-name": name}},
		Type: "cluster.x-k8s.io/secret", Data: map[string][]byte{"value": []byte("the operator's kubeconfig")}}
	require.NoError(t, c.Create(ctx, secret))
	t.Cleanup(func() { _ = c.Delete(context.Background(), secret) })
	object := func(apiVersion, kind string, content map[string]any) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: content}
		u.SetAPIVersion(apiVersion)
		u.SetKind(kind)
		u.SetNamespace(ns)
		u.SetName(name)
		return u
	}
	const infraV1, cpV1 = "infrastructure.automation.dcn.ssu.ac.kr/v1alpha1", "controlplane.automation.dcn.ssu.ac.kr/v1alpha1"
	infra := object(infraV1, "ExistingCluster", map[string]any{"spec": map[string]any{
		"controlPlaneEndpoint": map[string]any{"host": "127.0.0.1", "port": int64(6443)}}})
	require.NoError(t, c.Create(ctx, infra))
	require.NoError(t, c.Status().Patch(ctx, infra, client.RawPatch("application/merge-patch+json",
		[]byte(`{"status":{"initialization":{"provisioned":true}}}`))))
	capi := object("cluster.x-k8s.io/v1beta2", "Cluster", map[string]any{"spec": map[string]any{
		"infrastructureRef": map[string]any{"apiGroup": "infrastructure.automation.dcn.ssu.ac.kr", "kind": "ExistingCluster", "name": name}}})
	require.NoError(t, c.Create(ctx, capi))
	t.Cleanup(func() { _ = c.Delete(context.Background(), capiCluster(t, ns, name)) })
	wait(t, 2*time.Minute, "the old shape provisioned", func() (bool, string) {
		u := capiCluster(t, ns, name)
		done, _, _ := unstructured.NestedBool(u.Object, "status", "initialization", "infrastructureProvisioned")
		cp, _, _ := unstructured.NestedBool(u.Object, "status", "initialization", "controlPlaneInitialized")
		// Without a controlPlaneRef CAPI looks for control-plane Machines, and there are none.
		initialized := conditionStatus(u, "status", "conditions")["ControlPlaneInitialized"]
		return done && !cp && initialized == "False", fmt.Sprintf("%v", u.Object["status"])
	})

	cp := object(cpV1, "ExistingControlPlane", map[string]any{"spec": map[string]any{}})
	require.NoError(t, c.Create(ctx, cp))
	require.NoError(t, c.Status().Patch(ctx, cp, client.RawPatch("application/merge-patch+json",
		[]byte(`{"status":{"initialization":{"controlPlaneInitialized":true}}}`))))
	require.NoError(t, c.Patch(ctx, capiCluster(t, ns, name), client.RawPatch("application/merge-patch+json",
		[]byte(`{"spec":{"controlPlaneRef":{"apiGroup":"controlplane.automation.dcn.ssu.ac.kr","kind":"ExistingControlPlane","name":"`+name+`"}}}`))),
		"CAPI's webhook accepts adding a controlPlaneRef")
	wait(t, 2*time.Minute, "CAPI reporting the control plane initialized", func() (bool, string) {
		u := capiCluster(t, ns, name)
		done, _, _ := unstructured.NestedBool(u.Object, "status", "initialization", "controlPlaneInitialized")
		v1beta2 := conditionStatus(u, "status", "conditions")
		v1beta1 := conditionStatus(u, "status", "deprecated", "v1beta1", "conditions")
		return done && v1beta2["ControlPlaneInitialized"] == "True" && v1beta1["ControlPlaneInitialized"] == "True",
			fmt.Sprintf("initialized %v, v1beta2 %v, v1beta1 %v", done, v1beta2, v1beta1)
	})
	err := c.Patch(ctx, capiCluster(t, ns, name), client.RawPatch("application/merge-patch+json", []byte(`{"spec":{"controlPlaneRef":null}}`)))
	require.Error(t, err, "CAPI's webhook refuses removing the controlPlaneRef")
	assert.Contains(t, err.Error(), "cannot be removed")

	require.NoError(t, c.Delete(ctx, capiCluster(t, ns, name)))
	wait(t, 2*time.Minute, "the Cluster and both of L-KaaS's kinds gone", func() (bool, string) {
		var left []string
		for _, u := range []*unstructured.Unstructured{capiCluster(t, ns, name), object(infraV1, "ExistingCluster", map[string]any{}), object(cpV1, "ExistingControlPlane", map[string]any{})} {
			if err := c.Get(ctx, client.ObjectKeyFromObject(u), u); !apierrors.IsNotFound(err) {
				left = append(left, u.GetKind())
			}
		}
		return len(left) == 0, strings.Join(left, ", ")
	})
	kept := &corev1.Secret{}
	require.NoError(t, c.Get(ctx, client.ObjectKeyFromObject(secret), kept), "the kubeconfig Secret stays")
	assert.Equal(t, secret.ResourceVersion, kept.ResourceVersion, "and nobody wrote it")
}

// capiCluster2 reads a CAPI Cluster of namespace ns (only name and kind set when it cannot).
func capiCluster(t *testing.T, ns, name string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("cluster.x-k8s.io/v1beta2")
	u.SetKind("Cluster")
	u.SetNamespace(ns)
	u.SetName(name)
	_ = mgmt.APIServer.Client.Get(context.Background(), client.ObjectKeyFromObject(u), u)
	return u
}
