package controllers_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/internal/apply"
	"github.com/dcn-ssu/lkaas/internal/emco/emcotest"
)

const emcoEndpoint = "emco-mec-central-mgmt"

// emcoFleet creates a suspended Fleet (nothing is applied from Git here; the test creates the
// objects as the Fleet would) whose one EMCO endpoint is the emulator at url.
func emcoFleet(t testing.TB, c client.Client, ns, url string, mutate ...func(*automationv1alpha1.Fleet)) *automationv1alpha1.Fleet {
	t.Helper()
	f := &automationv1alpha1.Fleet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "fleet"},
		Spec: automationv1alpha1.FleetSpec{
			SourceRef: automationv1alpha1.SourceReference{Kind: "GitRepository", Name: "fleet"},
			Interval:  metav1.Duration{Duration: time.Hour},
			Suspend:   true,
			EMCO: &automationv1alpha1.EMCOSettings{
				Endpoints:       []automationv1alpha1.EMCOEndpoint{{Name: emcoEndpoint, URL: url}},
				DefaultEndpoint: emcoEndpoint,
			},
		},
	}
	for _, m := range mutate {
		m(f)
	}
	require.NoError(t, c.Create(context.Background(), f))
	return f
}

// fleetLabels are the labels by which the Fleet marks what it applied.
func fleetLabels(ns string) map[string]string {
	return map[string]string{apply.FleetNameLabel: "fleet", apply.FleetNamespaceLabel: ns}
}

// fakeKubeconfig is a kubeconfig-shaped secret, distinct per cluster and generation.
func fakeKubeconfig(cluster string, generation int) string {
	return fmt.Sprintf("apiVersion: v1\nkind: Config\nclusters:\n- name: %s\n  cluster: {server: https://%s.example:6443}\nusers:\n- name: admin\n  user: {token: secret-token-%s-%d}\n",
		cluster, cluster, cluster, generation)
}

// writeKubeconfig creates or replaces CAPI's kubeconfig Secret of a cluster.
func writeKubeconfig(t testing.TB, c client.Client, ns, cluster, kubeconfig string) {
	t.Helper()
	ctx := context.Background()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: cluster + "-kubeconfig",
		Labels: map[string]string{"cluster.x-k8s.io/cluster-name": cluster}},
		Type: "cluster.x-k8s.io/secret", Data: map[string][]byte{"value": []byte(kubeconfig)}}
	err := c.Create(ctx, s)
	if apierrors.IsAlreadyExists(err) {
		err = c.Update(ctx, s)
	}
	require.NoError(t, err)
}

// capiAvailable reports the CAPI Cluster Available, as CAPI would once it is up.
func capiAvailable(t *testing.T, ns, name string) {
	t.Helper()
	setCAPIConditions(t, ns, name, map[string]metav1.ConditionStatus{
		"InfrastructureReady": metav1.ConditionTrue, "ControlPlaneInitialized": metav1.ConditionTrue,
		"ControlPlaneAvailable": metav1.ConditionTrue, "WorkersAvailable": metav1.ConditionTrue, "Available": metav1.ConditionTrue,
	})
}

// waitEMCO waits until the emulator's state satisfies ok.
func waitEMCO(t *testing.T, emu *emcotest.Emulator, what string, ok func(emcotest.State) bool) emcotest.State {
	t.Helper()
	var st emcotest.State
	if !assert.Eventually(t, func() bool { st = emu.State(); return ok(st) }, 2*time.Minute, 100*time.Millisecond) {
		t.Fatalf("EMCO never %s; it holds %+v", what, st)
	}
	return st
}

// writesOf lists the write requests the emulator saw, for messages.
func writesOf(emu *emcotest.Emulator) []string {
	var out []string
	for _, r := range emu.Writes() {
		out = append(out, fmt.Sprintf("%s %s %d", r.Method, r.Path, r.Status))
	}
	return out
}
