package manager_test

import (
	"context"
	"testing"
	"time"

	"github.com/fluxcd/pkg/runtime/logger"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dcn-ssu/lkaas/internal/manager"
)

// The manager's cache keeps objects without their managed fields and without client-side
// apply's last-applied annotation, whichever way they are read (typed, unstructured,
// metadata only); the content and every other annotation stay.
func TestCacheDropsWhatNoControllerReads(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t)
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "cached", Annotations: map[string]string{
			"kubectl.kubernetes.io/last-applied-configuration": `{"apiVersion":"v1","kind":"ConfigMap"}`,
			"example.com/kept": "yes",
		}},
		Data: map[string]string{"key": "value"},
	}
	require.NoError(t, env.Client.Create(ctx, cm))
	live := &corev1.ConfigMap{}
	require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(cm), live))
	require.NotEmpty(t, live.ManagedFields, "the API server keeps managed fields")

	opts := manager.Options{MetricsAddr: "0", HealthAddr: "0", SkipNameValidation: true}
	opts.Logger = logger.Options{LogEncoding: "console", LogLevel: "error"}
	mgr, err := manager.New(env.Config, opts)
	require.NoError(t, err)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(runCtx) }()
	defer func() {
		cancel()
		select {
		case err := <-done:
			assert.NoError(t, err)
		case <-time.After(time.Minute):
			t.Error("manager did not stop")
		}
	}()
	require.True(t, mgr.GetCache().WaitForCacheSync(ctx))

	u := &unstructured.Unstructured{}
	u.SetAPIVersion("v1")
	u.SetKind("ConfigMap")
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ConfigMap"))
	for name, obj := range map[string]client.Object{"typed": &corev1.ConfigMap{}, "unstructured": u, "metadata": m} {
		t.Run(name, func(t *testing.T) {
			require.Eventually(t, func() bool {
				return mgr.GetCache().Get(ctx, client.ObjectKeyFromObject(cm), obj) == nil
			}, 30*time.Second, 100*time.Millisecond)
			assert.Empty(t, obj.GetManagedFields())
			assert.Equal(t, map[string]string{"example.com/kept": "yes"}, obj.GetAnnotations())
			if typed, ok := obj.(*corev1.ConfigMap); ok {
				assert.Equal(t, map[string]string{"key": "value"}, typed.Data)
			}
		})
	}
}
