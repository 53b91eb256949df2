// Package v1alpha1 contains the automation.dcn.ssu.ac.kr/v1alpha1 API: profiles, cluster
// catalogs, clusters and the Fleet that binds a Flux source to a namespace.
//
// +kubebuilder:object:generate=true
// +groupName=automation.dcn.ssu.ac.kr
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of the kinds in this package.
	GroupVersion = schema.GroupVersion{Group: "automation.dcn.ssu.ac.kr", Version: "v1alpha1"}

	// SchemeBuilder registers the kinds of this package with a scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the kinds of this package to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
