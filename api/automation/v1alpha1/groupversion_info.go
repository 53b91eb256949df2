// Package v1alpha1 contains the automation.dcn.ssu.ac.kr/v1alpha1 API: profiles, cluster
// catalogs, clusters and the Fleet that binds a Flux source to a namespace.
//
// +kubebuilder:object:generate=true
// +groupName=automation.dcn.ssu.ac.kr
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the group and version of the kinds in this package.
	GroupVersion = schema.GroupVersion{Group: "automation.dcn.ssu.ac.kr", Version: "v1alpha1"}

	// schemeBuilder registers the kinds of this package with a scheme; API packages keep to
	// apimachinery so that importing them stays cheap.
	schemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the kinds of this package to a scheme.
	AddToScheme = schemeBuilder.AddToScheme

	// objectTypes are the kinds of this package, added by each kind's file.
	objectTypes []runtime.Object
)

func addKnownTypes(scheme *runtime.Scheme) error {
	scheme.AddKnownTypes(GroupVersion, objectTypes...)
	metav1.AddToGroupVersion(scheme, GroupVersion)
	return nil
}
