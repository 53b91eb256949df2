// Package v1alpha1 contains the controlplane.automation.dcn.ssu.ac.kr/v1alpha1 API: the
// ExistingControlPlane, the Cluster API control-plane object of a cluster built by other
// means, so that the CAPI Cluster that represents it reports its control plane initialized
// (which the Helm add-on provider reads) without any control-plane Machine.
//
// +kubebuilder:object:generate=true
// +groupName=controlplane.automation.dcn.ssu.ac.kr
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the group and version of the kinds in this package.
	GroupVersion = schema.GroupVersion{Group: "controlplane.automation.dcn.ssu.ac.kr", Version: "v1alpha1"}

	// schemeBuilder registers the kinds of this package with a scheme; API packages keep to
	// apimachinery so that importing them stays cheap.
	schemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the kinds of this package to a scheme.
	AddToScheme = schemeBuilder.AddToScheme
)

func addKnownTypes(scheme *runtime.Scheme) error {
	scheme.AddKnownTypes(GroupVersion, &ExistingControlPlane{}, &ExistingControlPlaneList{})
	metav1.AddToGroupVersion(scheme, GroupVersion)
	return nil
}
