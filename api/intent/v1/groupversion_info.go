// Package v1 contains the intent.automation.dcn.ssu.ac.kr/v1 API: the LogicalCluster, a group
// of member clusters across sites that is rolled and registered as one.
//
// +kubebuilder:object:generate=true
// +groupName=intent.automation.dcn.ssu.ac.kr
package v1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of the kinds in this package.
	GroupVersion = schema.GroupVersion{Group: "intent.automation.dcn.ssu.ac.kr", Version: "v1"}

	// SchemeBuilder registers the kinds of this package with a scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the kinds of this package to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
