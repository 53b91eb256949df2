package loader

import (
	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// objectKey identifies an object the way the API server does, plus, for profiles, the
// identity references use (profile name, type, revision), which must be unique as well.
type objectKey struct {
	kind, namespace, name string
	profileType, revision string // set only for a profile's reference identity
}

// checkUnique reports a second declaration of one object, naming the first.
func (l *loading) checkUnique(d *docErrors, key kindKey, obj client.Object) {
	k := objectKey{kind: key.kind, namespace: obj.GetNamespace(), name: obj.GetName()}
	if first, dup := l.seen[k]; dup {
		d.at("metadata.name", "%s %s/%s is declared twice; the first is at %s", key.kind, k.namespace, k.name, first.Field("metadata.name"))
		return
	}
	l.seen[k] = *d.origin
	if p, ok := obj.(*automationv1alpha1.InfrastructureProfile); ok && p.Spec.ProfileName != "" {
		ref := objectKey{kind: "profile revision", namespace: k.namespace, name: p.Spec.ProfileName,
			profileType: string(p.Spec.Type), revision: p.Spec.Revision}
		if first, dup := l.seen[ref]; dup {
			d.at("spec.profileName", "profile %s type %s revision %s is declared twice; the first is at %s",
				p.Spec.ProfileName, p.Spec.Type, p.Spec.Revision, first.Field("spec.profileName"))
			return
		}
		l.seen[ref] = *d.origin
	}
}
