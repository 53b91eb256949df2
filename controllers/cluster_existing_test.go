package controllers_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
	"github.com/dcn-ssu/lkaas/controllers"
	"github.com/dcn-ssu/lkaas/internal/emco/emcotest"
	"github.com/dcn-ssu/lkaas/internal/testenv"
)

// An existing cluster (another kube-apiserver, with its own kubeconfig) is taken in without a
// single object rendered for it: Ready when its API server answers, False with a clear reason
// while it cannot be reached and back after, registered with EMCO and re-registered when its
// kubeconfig rotates, and on removal deregistered while the cluster and its data stay.
func TestExistingClusterLifecycle(t *testing.T) {
	other := startOtherAPIServer(t)
	ctx := context.Background()
	otherClient, err := client.New(other.Config, client.Options{})
	require.NoError(t, err)
	precious := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "precious"}, Data: map[string]string{"keep": "me"}}
	require.NoError(t, otherClient.Create(ctx, precious))

	// The route to its API server goes through a relay the test can cut, like a stopped API
	// server or a lost link seen from L-KaaS.
	relay := startRelay(t, other.Config.Host)
	kubeconfig := adminKubeconfig(t, other, relay.addr)

	ns := env.Namespace(t)
	emu, emcoURL := emcotest.Start(t)
	emcoFleet(t, env.Client, ns, emcoURL)
	writeKubeconfig(t, env.Client, ns, "core", kubeconfig)
	c := &automationv1alpha1.Cluster{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "core", Labels: fleetLabels(ns)},
		Spec: automationv1alpha1.ClusterSpec{Tenant: "starlab",
			Existing: &automationv1alpha1.ExistingCluster{KubernetesVersion: "v1.0.0"}},
	}
	require.NoError(t, env.Client.Create(ctx, c))

	info, err := discovery.NewDiscoveryClientForConfigOrDie(other.Config).ServerVersion()
	require.NoError(t, err)
	got := waitCluster(t, c, "Ready through its API server", func(c *automationv1alpha1.Cluster) bool {
		return c.Status.Phase == automationv1alpha1.ClusterPhaseReady && conditions.IsReady(c)
	})
	assert.Equal(t, info.GitVersion, got.Status.ControlPlaneVersion, "the version is what /version reports")
	assert.Equal(t, "core-kubeconfig", got.Status.KubeconfigSecretName)
	available := conditions.Get(got, controllers.AvailableCondition)
	require.NotNil(t, available)
	assert.Equal(t, controllers.ReasonAPIServerReady, available.Reason)
	drift := conditions.Get(got, controllers.VersionAsExpectedCondition)
	require.NotNil(t, drift, "a version in Git that differs is shown")
	assert.Equal(t, metav1.ConditionFalse, drift.Status)
	assert.Equal(t, controllers.ReasonVersionNotManaged, drift.Reason)
	assert.Contains(t, drift.Message, "Git expects v1.0.0")
	assert.Equal(t, got.Status.RenderHash, got.Status.AppliedRenderHash, "nothing waits to be applied")
	_, err = capiObject(t, ns, "cluster.x-k8s.io/v1beta2", "Cluster", "core")
	assert.True(t, apierrors.IsNotFound(err), "no CAPI Cluster is rendered for an existing cluster: %v", err)
	assert.Empty(t, got.Annotations[automationv1alpha1.LabelPrefix+"applied-objects"], "nothing is applied")

	firstDigest := waitCluster(t, c, "registered with EMCO", func(c *automationv1alpha1.Cluster) bool {
		return c.Status.EMCO != nil && c.Status.EMCO.Registered
	}).Status.EMCO.KubeconfigDigest
	registered, ok := emu.State().Cluster("starlab", "core")
	require.True(t, ok)
	assert.Equal(t, kubeconfig, string(registered.Kubeconfig), "EMCO gets the cluster's own kubeconfig")
	creations := clusterCreations(emu)
	assert.Equal(t, 1, creations)

	// Its API server cannot be reached: not Available, with the reason; still registered.
	relay.cut()
	// (Conditions and the other status fields are two patches: wait for both.)
	got = waitCluster(t, c, "unavailable", func(c *automationv1alpha1.Cluster) bool {
		cond := conditions.Get(c, controllers.AvailableCondition)
		return cond != nil && cond.Status == metav1.ConditionFalse && cond.Reason == controllers.ReasonAPIServerUnreachable &&
			c.Status.Phase == automationv1alpha1.ClusterPhaseProvisioned
	})
	assert.Equal(t, metav1.ConditionFalse, readyStatus(got))
	assert.Equal(t, controllers.ReasonAPIServerUnreachable, conditions.Get(got, meta.ReadyCondition).Reason)
	assert.Contains(t, conditions.Get(got, meta.ReadyCondition).Message, relay.addr, "the message names where it asked")
	assert.True(t, got.Status.EMCO.Registered, "a cluster briefly away stays registered")

	relay.restore()
	waitCluster(t, c, "Ready again", func(c *automationv1alpha1.Cluster) bool {
		return c.Status.Phase == automationv1alpha1.ClusterPhaseReady && conditions.IsReady(c)
	})

	// The kubeconfig rotates: EMCO gets the new one.
	rotated := adminKubeconfig(t, other, relay.addr)
	require.NotEqual(t, kubeconfig, rotated)
	writeKubeconfig(t, env.Client, ns, "core", rotated)
	waitEMCO(t, emu, "holds the rotated kubeconfig", func(st emcotest.State) bool {
		cl, ok := st.Cluster("starlab", "core")
		return ok && string(cl.Kubeconfig) == rotated
	})
	assert.Equal(t, creations+1, clusterCreations(emu), "one re-registration per rotation")
	waitCluster(t, c, "Ready with the rotated kubeconfig", func(c *automationv1alpha1.Cluster) bool {
		return conditions.IsReady(c) && c.Status.EMCO != nil && c.Status.EMCO.KubeconfigDigest != firstDigest
	})

	// Removed from Git: deregistered; the cluster, its data and its kubeconfig Secret stay.
	require.NoError(t, env.Client.Delete(ctx, c))
	waitEMCO(t, emu, "deregisters the cluster", func(st emcotest.State) bool {
		_, ok := st.Cluster("starlab", "core")
		return !ok
	})
	require.Eventually(t, func() bool {
		return apierrors.IsNotFound(env.Client.Get(ctx, client.ObjectKeyFromObject(c), &automationv1alpha1.Cluster{}))
	}, defaultWait, tick, "the Cluster goes")
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "core-kubeconfig"}, &corev1.Secret{}),
		"the kubeconfig Secret is the owner's, not L-KaaS's")
	kept := &corev1.ConfigMap{}
	require.NoError(t, otherClient.Get(ctx, client.ObjectKeyFromObject(precious), kept), "the existing cluster still answers")
	assert.Equal(t, precious.Data, kept.Data, "and its data is untouched")

	// Nothing L-KaaS said about the cluster carries its credentials.
	var events corev1.EventList
	require.NoError(t, env.Client.List(ctx, &events, client.InNamespace(ns)))
	for _, e := range events.Items {
		assert.NotContains(t, e.Message, "client-key-data")
		assert.NotContains(t, e.Message, "BEGIN")
	}
}

// A real stop of the existing cluster's API server: the condition turns False, naming why.
func TestExistingClusterAPIServerStopped(t *testing.T) {
	other := startOtherAPIServer(t)
	ns := env.Namespace(t)
	host := hostPort(t, other.Config.Host)
	writeKubeconfig(t, env.Client, ns, "core", adminKubeconfig(t, other, host))
	c := &automationv1alpha1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "core"},
		Spec: automationv1alpha1.ClusterSpec{Existing: &automationv1alpha1.ExistingCluster{}}}
	require.NoError(t, env.Client.Create(context.Background(), c))
	got := waitCluster(t, c, "Ready", func(c *automationv1alpha1.Cluster) bool { return conditions.IsReady(c) })
	assert.Nil(t, conditions.Get(got, controllers.VersionAsExpectedCondition), "no version in Git: nothing to compare")

	require.NoError(t, other.Stop())
	got = waitCluster(t, c, "unavailable", func(c *automationv1alpha1.Cluster) bool {
		cond := conditions.Get(c, meta.ReadyCondition)
		return cond != nil && cond.Status == metav1.ConditionFalse && cond.Reason == controllers.ReasonAPIServerUnreachable
	})
	assert.Contains(t, conditions.Get(got, controllers.AvailableCondition).Message, "does not answer")
}

// Missing and unusable kubeconfigs are named, without quoting a byte of the Secret.
func TestExistingClusterKubeconfigProblems(t *testing.T) {
	ns := env.Namespace(t)
	c := &automationv1alpha1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "core"},
		Spec: automationv1alpha1.ClusterSpec{Existing: &automationv1alpha1.ExistingCluster{}}}
	require.NoError(t, env.Client.Create(context.Background(), c))
	got := waitCluster(t, c, "waiting for its kubeconfig", func(c *automationv1alpha1.Cluster) bool {
		cond := conditions.Get(c, meta.ReadyCondition)
		return cond != nil && cond.Reason == controllers.ReasonKubeconfigMissing && c.Status.Phase == automationv1alpha1.ClusterPhasePending
	})
	assert.NotContains(t, conditions.Get(got, meta.ReadyCondition).Message, "core-kubeconfig",
		"status documents in Git never name a kubeconfig Secret (docs/status.md)")
	assert.Contains(t, conditions.Get(got, meta.ReadyCondition).Message, "kubeconfig Secret")

	writeKubeconfig(t, env.Client, ns, "core", "token: not-a-kubeconfig-s3cr3t: [")
	got = waitCluster(t, c, "refusing the kubeconfig", func(c *automationv1alpha1.Cluster) bool {
		cond := conditions.Get(c, meta.ReadyCondition)
		return cond != nil && cond.Reason == controllers.ReasonKubeconfigInvalid
	})
	assert.True(t, conditions.IsStalled(got))
	assert.NotContains(t, conditions.Get(got, meta.ReadyCondition).Message, "s3cr3t")
}

// startOtherAPIServer starts a second kube-apiserver (and etcd) to stand for a cluster built
// by other means.
func startOtherAPIServer(t *testing.T) *testenv.Env {
	t.Helper()
	other, err := testenv.Start()
	require.NoError(t, err)
	t.Cleanup(func() { _ = other.Stop() })
	return other
}

// adminKubeconfig is a fresh administrator kubeconfig of other (a new client certificate
// each call, as a rotation makes), its server rewritten to host ("127.0.0.1:port").
func adminKubeconfig(t *testing.T, other *testenv.Env, host string) string {
	t.Helper()
	raw, err := other.Kubeconfig()
	require.NoError(t, err)
	cfg, err := clientcmd.Load(raw)
	require.NoError(t, err)
	for _, cl := range cfg.Clusters {
		cl.Server = "https://" + host
	}
	out, err := clientcmd.Write(*cfg)
	require.NoError(t, err)
	return string(out)
}

func hostPort(t *testing.T, hostURL string) string {
	t.Helper()
	u, err := url.Parse(hostURL)
	require.NoError(t, err)
	if u.Host != "" {
		return u.Host
	}
	return hostURL
}

// clusterCreations counts clm cluster registrations the emulator accepted.
func clusterCreations(emu *emcotest.Emulator) int {
	n := 0
	for _, r := range emu.Writes() {
		if r.Method == "POST" && strings.HasSuffix(r.Path, "/clusters") && r.Status < 300 {
			n++
		}
	}
	return n
}

// relay forwards TCP connections from its own address to an API server; cut closes the
// listener and every open connection, restore listens again on the same address.
type relay struct {
	addr, target string
	mu           sync.Mutex
	ln           net.Listener
	conns        map[net.Conn]bool
}

func startRelay(t *testing.T, targetURL string) *relay {
	t.Helper()
	r := &relay{target: hostPort(t, targetURL), conns: map[net.Conn]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	r.addr = ln.Addr().String()
	r.serve(ln)
	t.Cleanup(r.cut)
	return r
}

func (r *relay) serve(ln net.Listener) {
	r.mu.Lock()
	r.ln = ln
	r.mu.Unlock()
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", r.target)
			if err != nil {
				_ = in.Close()
				continue
			}
			r.mu.Lock()
			r.conns[in], r.conns[out] = true, true
			r.mu.Unlock()
			go r.pipe(in, out)
			go r.pipe(out, in)
		}
	}()
}

func (r *relay) pipe(dst, src net.Conn) {
	_, _ = io.Copy(dst, src)
	_ = dst.Close()
	_ = src.Close()
}

func (r *relay) cut() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ln != nil {
		_ = r.ln.Close()
		r.ln = nil
	}
	for c := range r.conns {
		_ = c.Close()
	}
	r.conns = map[net.Conn]bool{}
}

func (r *relay) restore() {
	ln, err := net.Listen("tcp", r.addr)
	if err != nil && !errors.Is(err, net.ErrClosed) {
		panic(err)
	}
	r.serve(ln)
}

// A logical cluster of an existing cluster and a built one: the existing member becomes a
// Cluster with nothing rendered, both are registered, and one logical cloud references both;
// removing the existing member from the spec takes it out of the cloud and clm only.
func TestExistingMemberOfALogicalCluster(t *testing.T) {
	other := startOtherAPIServer(t)
	ns := clusterFixture(t)
	ctx := context.Background()
	emu, emcoURL := emcotest.Start(t)
	emcoFleet(t, env.Client, ns, emcoURL)
	writeKubeconfig(t, env.Client, ns, "core-cluster", adminKubeconfig(t, other, hostPort(t, other.Config.Host)))

	catalog := &automationv1alpha1.ClusterCatalog{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "edge-catalog"},
		Spec: automationv1alpha1.ClusterCatalogSpec{ClusterRecipe: automationv1alpha1.ClusterRecipe{
			Infrastructure: &automationv1alpha1.InfrastructureRecipe{Provider: "docker",
				Profile: automationv1alpha1.ProfileReference{Name: "inmemory", Type: automationv1alpha1.InfrastructureProfileType, Revision: "1.0.0"}},
		}},
	}
	require.NoError(t, env.Client.Create(ctx, catalog))
	labels := fleetLabels(ns)
	labels[automationv1alpha1.ProjectLabel] = "dcn"
	lc := &intentv1.LogicalCluster{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "mec-cluster", Labels: labels},
		Spec: intentv1.LogicalClusterSpec{Tenant: "starlab", Clusters: []intentv1.MemberCluster{
			{Name: "core-cluster", Existing: &automationv1alpha1.ExistingCluster{}},
			{Name: "seoul-edge-cluster", ClusterCatalog: catalog.Name},
		}},
	}
	require.NoError(t, env.Client.Create(ctx, lc))
	// The built member comes up as CAPI would report it; the existing one by itself.
	require.Eventually(t, func() bool {
		_, err := capiObject(t, ns, "cluster.x-k8s.io/v1beta2", "Cluster", "seoul-edge-cluster")
		return err == nil
	}, defaultWait, tick, "the built member is rendered")
	capiAvailable(t, ns, "seoul-edge-cluster")
	writeKubeconfig(t, env.Client, ns, "seoul-edge-cluster", fakeKubeconfig("seoul-edge-cluster", 1))

	want := []string{"starlab+core-cluster", "starlab+seoul-edge-cluster"}
	waitEMCO(t, emu, "holds one logical cloud with both members", func(st emcotest.State) bool {
		cloud, ok := st.LogicalCloud("dcn", "mec-cluster")
		return ok && slices.Equal(logicalCloudRefs(cloud), want) && cloud.DeployedStatus == "Instantiated"
	})
	core := waitCluster(t, &automationv1alpha1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "core-cluster"}}, "Ready",
		func(c *automationv1alpha1.Cluster) bool {
			return conditions.IsReady(c) && c.Status.EMCO != nil && c.Status.EMCO.Registered
		})
	assert.NotNil(t, core.Spec.Existing, "the member's Cluster is existing too")
	_, err := capiObject(t, ns, "cluster.x-k8s.io/v1beta2", "Cluster", "core-cluster")
	assert.True(t, apierrors.IsNotFound(err), "nothing is rendered for the existing member: %v", err)

	// The existing member leaves the spec: out of the logical cloud and clm; its Secret and
	// its API server stay.
	// The controllers write the LogicalCluster too: a conflict means read again and retry.
	require.NoError(t, retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(lc), lc); err != nil {
			return err
		}
		lc.Spec.Clusters = lc.Spec.Clusters[1:]
		return env.Client.Update(ctx, lc)
	}))
	waitEMCO(t, emu, "lets the existing member go", func(st emcotest.State) bool {
		cloud, ok := st.LogicalCloud("dcn", "mec-cluster")
		_, registered := st.Cluster("starlab", "core-cluster")
		return ok && slices.Equal(logicalCloudRefs(cloud), want[1:]) && !registered
	})
	require.Eventually(t, func() bool {
		return apierrors.IsNotFound(env.Client.Get(ctx, client.ObjectKeyFromObject(core), &automationv1alpha1.Cluster{}))
	}, defaultWait, tick, "the member's Cluster goes")
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "core-cluster-kubeconfig"}, &corev1.Secret{}))
	_, err = discovery.NewDiscoveryClientForConfigOrDie(other.Config).ServerVersion()
	assert.NoError(t, err, "the existing cluster still answers")
}
