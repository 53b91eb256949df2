package manager

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// capiCheckPeriod is how often the manager asks the API server whether a Cluster API kind
// that was not served at start is served now (a variable so that tests can shorten it).
var capiCheckPeriod = 30 * time.Second

// unservedKinds returns those of kinds the API server does not serve. It asks discovery
// afresh (no cache that could remember an earlier miss): one request per group version.
func unservedKinds(dc discovery.DiscoveryInterface, kinds []schema.GroupVersionKind) ([]schema.GroupVersionKind, error) {
	served := map[schema.GroupVersion]map[string]bool{}
	var missing []schema.GroupVersionKind
	for _, gvk := range kinds {
		gv := gvk.GroupVersion()
		if _, ok := served[gv]; !ok {
			list, err := dc.ServerResourcesForGroupVersion(gv.String())
			if err != nil && !apierrors.IsNotFound(err) {
				return nil, fmt.Errorf("discovering %s: %w", gv, err)
			}
			served[gv] = map[string]bool{}
			if list != nil {
				for _, r := range list.APIResources {
					if !strings.Contains(r.Name, "/") { // not a subresource
						served[gv][r.Kind] = true
					}
				}
			}
		}
		if !served[gv][gvk.Kind] {
			missing = append(missing, gvk)
		}
	}
	return missing, nil
}

// capiKindWatch ends the manager when a Cluster API kind that was not served at start (and
// so is not watched: controllers.ClusterReconciler.SetupWithManager) becomes served, e.g.
// after `clusterctl init` on a cluster where L-KaaS was installed first. Watches are set up
// once, when the manager is built; the Deployment restarts the process, which then watches
// the kind. Every replica runs it, leader or not, so that a standby too restarts with the
// watch in place.
type capiKindWatch struct {
	discovery discovery.DiscoveryInterface
	missing   []schema.GroupVersionKind
	period    time.Duration
}

var _ manager.LeaderElectionRunnable = &capiKindWatch{}

// NeedLeaderElection is false: every replica must restart, not only the leader.
func (w *capiKindWatch) NeedLeaderElection() bool { return false }

// Start polls until one of the missing kinds is served, then returns an error naming the
// kinds now served, which makes the manager stop and the process exit non-zero.
func (w *capiKindWatch) Start(ctx context.Context) error {
	log := ctrl.Log.WithName("cluster-api-kinds")
	tick := time.NewTicker(w.period)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		still, err := unservedKinds(w.discovery, w.missing)
		if err != nil {
			log.V(1).Info("checking for newly served Cluster API kinds", "error", err.Error())
			continue // the API server may be briefly away; ask again next time
		}
		if len(still) == len(w.missing) {
			continue
		}
		var now []string
		for _, gvk := range w.missing {
			if !slices.Contains(still, gvk) {
				now = append(now, gvk.GroupKind().String())
			}
		}
		kinds := strings.Join(now, ", ")
		if len(now) == 1 {
			log.Info(fmt.Sprintf("Cluster API kind %s is now served; restarting to watch it", kinds))
		} else {
			log.Info(fmt.Sprintf("Cluster API kinds %s are now served; restarting to watch them", kinds))
		}
		return fmt.Errorf("restarting to watch newly served Cluster API kinds: %s", kinds)
	}
}
