// Package scheme builds the runtime.Scheme that L-KaaS clients and managers share: the core
// Kubernetes kinds, the L-KaaS kinds, Flux sources and the Cluster API kinds it renders.
package scheme

import (
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	controlplanev1alpha1 "github.com/dcn-ssu/lkaas/api/controlplane/v1alpha1"
	infrastructurev1alpha1 "github.com/dcn-ssu/lkaas/api/infrastructure/v1alpha1"
	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
)

// New returns a scheme with every kind L-KaaS reads or writes.
func New() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(apiextensionsv1.AddToScheme(s))
	utilruntime.Must(automationv1alpha1.AddToScheme(s))
	utilruntime.Must(intentv1.AddToScheme(s))
	utilruntime.Must(infrastructurev1alpha1.AddToScheme(s))
	utilruntime.Must(controlplanev1alpha1.AddToScheme(s))
	utilruntime.Must(sourcev1.AddToScheme(s))
	utilruntime.Must(clusterv1.AddToScheme(s))
	return s
}
