package controllers

import (
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
)

// sourceRevisionChanged passes a source's events when it publishes a new artifact revision,
// so a push is picked up at once rather than at the Fleet's next interval.
type sourceRevisionChanged struct{ predicate.Funcs }

func (sourceRevisionChanged) Create(e event.CreateEvent) bool {
	return artifactRevision(e.Object) != ""
}

func (sourceRevisionChanged) Update(e event.UpdateEvent) bool {
	return artifactRevision(e.ObjectNew) != "" && artifactRevision(e.ObjectOld) != artifactRevision(e.ObjectNew)
}

func (sourceRevisionChanged) Delete(event.DeleteEvent) bool { return false }

func artifactRevision(obj any) string {
	src, ok := obj.(sourcev1.Source)
	if !ok || src.GetArtifact() == nil {
		return ""
	}
	return src.GetArtifact().Revision
}

// approvalChanged passes a Fleet update that approves a held deletion.
type approvalChanged struct{ predicate.Funcs }

func (approvalChanged) Create(event.CreateEvent) bool { return false }
func (approvalChanged) Delete(event.DeleteEvent) bool { return false }

func (approvalChanged) Update(e event.UpdateEvent) bool {
	key := automationv1alpha1.ApproveDeletionAnnotation
	return e.ObjectOld.GetAnnotations()[key] != e.ObjectNew.GetAnnotations()[key]
}

// clusterPhaseChanged passes a Cluster update that changes its phase, which the Fleet counts,
// or its version-rule refusal, which the Fleet names.
type clusterPhaseChanged struct{ predicate.Funcs }

func (clusterPhaseChanged) Create(event.CreateEvent) bool { return false }
func (clusterPhaseChanged) Delete(event.DeleteEvent) bool { return false }

func (clusterPhaseChanged) Update(e event.UpdateEvent) bool {
	oldC, ok1 := e.ObjectOld.(*automationv1alpha1.Cluster)
	newC, ok2 := e.ObjectNew.(*automationv1alpha1.Cluster)
	return ok1 && ok2 && (oldC.Status.Phase != newC.Status.Phase || upgradeRefusal(oldC) != upgradeRefusal(newC))
}
