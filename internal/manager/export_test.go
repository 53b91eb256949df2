package manager

import (
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"

	"github.com/dcn-ssu/lkaas/controllers"
)

// SetCAPICheckPeriod shortens how often a manager polls for newly served Cluster API kinds,
// for managers built until restore is called.
func SetCAPICheckPeriod(d time.Duration) (restore func()) {
	old := capiCheckPeriod
	capiCheckPeriod = d
	return func() { capiCheckPeriod = old }
}

// UnservedClusterAPIKinds are the watched Cluster API kinds the API server does not serve:
// those New adds a restart watch for.
func UnservedClusterAPIKinds(cfg *rest.Config) ([]schema.GroupVersionKind, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return unservedKinds(dc, controllers.WatchedClusterAPIKinds())
}
