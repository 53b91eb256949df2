package web

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	lkaasscheme "github.com/dcn-ssu/lkaas/internal/scheme"
)

// The reader the pages get refuses every form of Secret read, even one a template or a
// later change might try.
func TestNoSecretsRefusesEverySecretRead(t *testing.T) {
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "edge", Name: "c-kubeconfig"}, Data: map[string][]byte{"value": []byte("x")}}
	r := noSecrets{fake.NewClientBuilder().WithScheme(lkaasscheme.New()).WithObjects(secret).Build()}
	ctx := context.Background()
	key := client.ObjectKeyFromObject(secret)

	meta := &metav1.PartialObjectMetadata{}
	meta.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	for name, obj := range map[string]client.Object{"typed": &corev1.Secret{}, "metadata": meta, "unstructured": u} {
		assert.Error(t, r.Get(ctx, key, obj), name)
	}
	ul := &unstructured.UnstructuredList{}
	ul.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("SecretList"))
	for name, list := range map[string]client.ObjectList{"typed": &corev1.SecretList{}, "unstructured": ul} {
		assert.Error(t, r.List(ctx, list), name)
	}
	// Anything else passes through.
	require.NoError(t, r.List(ctx, &corev1.ConfigMapList{}))
}
