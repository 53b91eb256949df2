//go:build e2e

package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// kube-controller-manager does what a real cluster does and envtest alone does not: an object
// goes when its owner goes, and a deleted namespace is emptied and goes away.
func TestControllerManagerCollectsGarbageAndNamespaces(t *testing.T) {
	ctx := context.Background()
	c := mgmt.APIServer.Client
	lap := stopwatch(t)

	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "e2e-gc-"}}
	require.NoError(t, c.Create(ctx, ns))
	owner := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "owner"}}
	require.NoError(t, c.Create(ctx, owner))
	dependent := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "dependent",
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: owner.Name, UID: owner.UID}}}}
	require.NoError(t, c.Create(ctx, dependent))
	require.NoError(t, c.Delete(ctx, owner))
	wait(t, time.Minute, "garbage collection of the dependent ConfigMap", func() (bool, string) {
		err := c.Get(ctx, client.ObjectKeyFromObject(dependent), &corev1.ConfigMap{})
		return apierrors.IsNotFound(err), "dependent still there"
	})
	lap("garbage collector deleted the dependent of a deleted owner")

	require.NoError(t, c.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "content"}}))
	require.NoError(t, c.Delete(ctx, ns))
	wait(t, time.Minute, "deletion of the namespace", func() (bool, string) {
		got := &corev1.Namespace{}
		err := c.Get(ctx, client.ObjectKeyFromObject(ns), got)
		return apierrors.IsNotFound(err), "phase " + string(got.Status.Phase)
	})
	lap("namespace controller emptied and removed a namespace")
}
