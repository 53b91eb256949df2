package controllers_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
)

// Deleting a Fleet that prunes removes what it applied; one that does not prune leaves it.
func TestDeletingAFleet(t *testing.T) {
	for _, prune := range []bool{true, false} {
		name := map[bool]string{true: "with prune its objects go", false: "without prune its objects stay"}[prune]
		t.Run(name, func(t *testing.T) {
			ns := env.Namespace(t)
			r := newRepo(t, ns, "fleet-repo")
			rev := r.push(t, fleetFiles("v1.30.1", "seoul", "busan"))
			f := newFleet(t, r, func(f *automationv1alpha1.Fleet) { f.Spec.Prune = prune })
			waitApplied(t, f, rev)

			require.NoError(t, env.Client.Delete(context.Background(), fleetState(t, f)))
			require.Eventually(t, func() bool {
				err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(f), &automationv1alpha1.Fleet{})
				return apierrors.IsNotFound(err)
			}, defaultWait, tick, "the finalizer is removed")

			if prune {
				assert.Empty(t, namesOf(t, ns))
			} else {
				assert.Equal(t, []string{"busan", "seoul"}, namesOf(t, ns))
			}
		})
	}
}
