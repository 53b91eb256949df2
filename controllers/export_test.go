package controllers

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
)

// PatchClusterAsAPass writes what change does to read the way a Cluster controller pass that
// started from read writes it at its end (clusterPatcher).
func PatchClusterAsAPass(ctx context.Context, c client.Client, reader client.Reader, read *automationv1alpha1.Cluster,
	change func(*automationv1alpha1.Cluster)) error {
	p := newClusterPatcher(c, reader, read)
	change(read)
	return p.patch(ctx, read)
}
