package web_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
	lkaasscheme "github.com/dcn-ssu/lkaas/internal/scheme"
	"github.com/dcn-ssu/lkaas/internal/web"
)

// BenchmarkPages renders each page of a 1,000-cluster fleet: two logical clusters of 400
// members across 8 locations and 200 standalone clusters. The reader is an in-memory client
// (controller-runtime's fake, which copies objects through JSON on every read, slower than
// the informer cache), so the figure is an upper bound for the page's own cost.
func BenchmarkPages(b *testing.B) {
	var objs []client.Object
	objs = append(objs, fleet("fleet", "fleet"))
	now := metav1.NewTime(time.Now())
	for l := range 2 {
		lc := logicalCluster("fleet", fmt.Sprintf("lc-%d", l))
		lc.Status.CurrentWave = ptr.To[int32](1)
		for i := range 400 {
			name := fmt.Sprintf("lc-%d-member-%03d", l, i)
			loc := fmt.Sprintf("kr-site-%d", i%8)
			wave := int32(i % 3)
			lc.Spec.Clusters = append(lc.Spec.Clusters, intentv1.MemberCluster{Name: name, ClusterCatalog: "c", Wave: wave,
				Labels: map[string]string{automationv1alpha1.LocationLabel: loc}})
			lc.Status.Members = append(lc.Status.Members, intentv1.MemberStatus{Name: name, Wave: wave, Pending: i%5 == 0})
			m := member("fleet", lc.Name, name, loc)
			m.Status = clusterStatus(automationv1alpha1.ClusterPhaseReady, "v1.31.0", "v1.31.0", true)
			objs = append(objs, m)
		}
		lc.Status.TotalMembers = 400
		objs = append(objs, lc)
	}
	for i := range 200 {
		c := &automationv1alpha1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: "fleet", Name: fmt.Sprintf("standalone-%03d", i), CreationTimestamp: now}}
		c.Status = clusterStatus(automationv1alpha1.ClusterPhaseProvisioning, "v1.30.4", "", false)
		objs = append(objs, c)
	}
	reader := fake.NewClientBuilder().WithScheme(lkaasscheme.New()).WithObjects(objs...).Build()
	srv, err := web.New(reader, nil, web.Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, path := range []string{"/", "/logicalclusters/fleet/lc-0", "/clusters/fleet/lc-0-member-001", "/fleets/fleet/fleet/history"} {
		b.Run(path, func(b *testing.B) {
			for b.Loop() {
				rec := httptest.NewRecorder()
				srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
				if rec.Code != http.StatusOK {
					b.Fatalf("%s: %d %s", path, rec.Code, rec.Body.String())
				}
			}
			b.ReportMetric(b.Elapsed().Seconds()*1000/float64(b.N), "ms/page")
		})
	}
}
