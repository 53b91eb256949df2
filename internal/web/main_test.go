package web_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
	"github.com/dcn-ssu/lkaas/internal/plane"
	"github.com/dcn-ssu/lkaas/internal/testenv"
	"github.com/dcn-ssu/lkaas/internal/web"
)

var (
	env  *testenv.Env
	page *httptest.Server
)

// TestMain starts a real API server, fills it with Fleets, Clusters and LogicalClusters in
// several states, and serves the status page from an informer cache over it, the way the
// manager does.
func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	log.SetLogger(logr.Discard())
	var err error
	env, err = testenv.Start(plane.WithClusterAPICRDs(), plane.WithFluxSourceCRDs())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer env.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := seed(ctx, env.Client); err != nil {
		fmt.Fprintln(os.Stderr, "seeding:", err)
		return 1
	}
	statusLog, cleanup, err := seedStatusBranch(ctx, env.Client)
	if err != nil {
		fmt.Fprintln(os.Stderr, "seeding the status branch:", err)
		return 1
	}
	defer cleanup()
	c, err := cache.New(env.Config, cache.Options{Scheme: env.Scheme})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	go func() { _ = c.Start(ctx) }()
	if !c.WaitForCacheSync(ctx) {
		fmt.Fprintln(os.Stderr, "cache did not sync")
		return 1
	}
	srv, err := web.New(c, c, web.Options{Keepalive: time.Second, StatusLog: statusLog})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := srv.Watch(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	page = httptest.NewServer(srv)
	defer page.Close()
	return m.Run()
}

// seed makes the world the tests look at: namespace edge holds the seed's mec-cluster in the
// middle of a rollout, a Fleet that fails validation and holds a deletion, and a halted
// logical cluster; namespace other holds another tenant's Fleet and a standalone cluster.
func seed(ctx context.Context, c client.Client) error {
	for _, ns := range []string{"edge", "other"} {
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			return err
		}
	}
	now := metav1.NewTime(time.Now().Add(-2 * time.Minute))

	edge := fleet("edge", "edge")
	broken := fleet("edge", "broken")
	tenantB := fleet("other", "tenant-b")
	for _, f := range []*automationv1alpha1.Fleet{edge, broken, tenantB} {
		if err := c.Create(ctx, f); err != nil {
			return err
		}
	}
	edge.Status = automationv1alpha1.FleetStatus{
		LastAppliedRevision: "main@sha1:" + sha("edge-rev"),
		Conditions:          []metav1.Condition{condition("Ready", "True", "ReconciliationSucceeded", "applied")},
		Clusters:            map[string]int32{"Ready": 1, "Upgrading": 1, "Provisioned": 1, "Failed": 1, "Pending": 0},
		WriteBack:           &automationv1alpha1.WriteBackStatus{LastPushedCommit: sha("status-commit-1"), LastPushTime: &now},
	}
	broken.Status = automationv1alpha1.FleetStatus{Conditions: []metav1.Condition{
		condition("Ready", "False", "ValidationFailed", "tenants/edge/mec.yaml:12:5: Cluster/x: spec.clusterCatalog: catalog nope not found"),
		condition("DeletionHeld", "True", "DeletionHeld", "revision main@sha1:1234 would delete 3 of 4 clusters"),
	}}
	tenantB.Status = automationv1alpha1.FleetStatus{LastAppliedRevision: "main@sha1:" + sha("tenant-b"),
		Conditions: []metav1.Condition{condition("Ready", "True", "ReconciliationSucceeded", "applied")}}
	for _, f := range []*automationv1alpha1.Fleet{edge, broken, tenantB} {
		if err := c.Status().Update(ctx, f); err != nil {
			return err
		}
	}

	mec := logicalCluster("edge", "mec-cluster",
		intentv1.MemberCluster{Name: "central-cluster", ClusterCatalog: "in-memory-catalog", Labels: map[string]string{automationv1alpha1.LocationLabel: "kr-seoul"}},
		intentv1.MemberCluster{Name: "seoul-edge-cluster", ClusterCatalog: "in-memory-catalog", Wave: 1, Labels: map[string]string{automationv1alpha1.LocationLabel: "kr-seoul"}},
		intentv1.MemberCluster{Name: "busan-edge-cluster", ClusterCatalog: "in-memory-catalog", Wave: 1, Labels: map[string]string{automationv1alpha1.LocationLabel: "kr-busan"}},
		intentv1.MemberCluster{Name: "gwangju-edge-cluster", ClusterCatalog: "in-memory-catalog", Wave: 2, Labels: map[string]string{automationv1alpha1.LocationLabel: "kr-gwangju"}},
	)
	halted := logicalCluster("edge", "halted-lc", intentv1.MemberCluster{Name: "daejeon-edge", ClusterCatalog: "in-memory-catalog"})
	for _, lc := range []*intentv1.LogicalCluster{mec, halted} {
		if err := c.Create(ctx, lc); err != nil {
			return err
		}
	}
	mec.Status = intentv1.LogicalClusterStatus{
		Phase: automationv1alpha1.ClusterPhaseUpgrading, ReadyMembers: 1, TotalMembers: 4, CurrentWave: ptr.To[int32](1),
		SourceRevision: "main@sha1:" + sha("edge-rev"), LogicalCloud: "mec-cluster",
		Conditions: []metav1.Condition{condition("Ready", "False", "Upgrading", "wave 1 of 2 rolling")},
		Members: []intentv1.MemberStatus{{Name: "central-cluster", Phase: "Ready"}, {Name: "seoul-edge-cluster", Phase: "Upgrading", Wave: 1},
			{Name: "busan-edge-cluster", Phase: "Provisioned", Wave: 1, Pending: true}, {Name: "gwangju-edge-cluster", Phase: "Failed", Wave: 2}},
		EMCO: &intentv1.LogicalCloudRegistration{Endpoint: "central", Project: "dcn", LogicalCloud: "mec-cluster", Level: "0",
			Clusters: []string{"dcn+central-cluster"}, DeployedStatus: "Instantiated", ReadyStatus: "Ready"},
	}
	halted.Status = intentv1.LogicalClusterStatus{Phase: automationv1alpha1.ClusterPhaseFailed, Conditions: []metav1.Condition{
		condition("RolloutHalted", "True", "MemberTimedOut", "daejeon-edge was not Available within 30m0s"),
	}}
	for _, lc := range []*intentv1.LogicalCluster{mec, halted} {
		if err := c.Status().Update(ctx, lc); err != nil {
			return err
		}
	}

	central := member("edge", "mec-cluster", "central-cluster", "kr-seoul")
	seoul := member("edge", "mec-cluster", "seoul-edge-cluster", "kr-seoul")
	seoul.Annotations = map[string]string{automationv1alpha1.RolloutPermitAnnotation: "render-2",
		"automation.dcn.ssu.ac.kr/rollout-permit-time": now.Format(time.RFC3339)}
	busan := member("edge", "mec-cluster", "busan-edge-cluster", "kr-busan")
	gwangju := member("edge", "mec-cluster", "gwangju-edge-cluster", "kr-gwangju")
	lonely := &automationv1alpha1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: "other", Name: "lonely"},
		Spec: automationv1alpha1.ClusterSpec{ClusterCatalog: "small"}}
	clusters := []*automationv1alpha1.Cluster{central, seoul, busan, gwangju, lonely}
	for _, cl := range clusters {
		if err := c.Create(ctx, cl); err != nil {
			return err
		}
	}
	central.Status = clusterStatus(automationv1alpha1.ClusterPhaseReady, "v1.31.0", "v1.31.0", true)
	central.Status.KubeconfigSecretName = "central-cluster-kubeconfig"
	seoul.Status = clusterStatus(automationv1alpha1.ClusterPhaseUpgrading, "v1.31.0", "v1.30.4", true)
	seoul.Status.RenderHash, seoul.Status.AppliedRenderHash = "render-2", "render-2"
	busan.Status = clusterStatus(automationv1alpha1.ClusterPhaseProvisioned, "v1.30.4", "v1.30.4", true)
	busan.Status.RenderHash, busan.Status.AppliedRenderHash = "render-2", "render-1"
	gwangju.Status = clusterStatus(automationv1alpha1.ClusterPhaseFailed, "v1.30.4", "v1.30.4", false)
	gwangju.Status.Conditions = append(gwangju.Status.Conditions, condition("Registered", "False", "EMCOUnavailable", "EMCO at central did not answer"))
	lonely.Status = clusterStatus(automationv1alpha1.ClusterPhaseReady, "v1.29.8", "v1.29.8", false)
	for _, cl := range clusters {
		if err := c.Status().Update(ctx, cl); err != nil {
			return err
		}
	}

	// What no page may show: a kubeconfig with a token in it.
	if err := c.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "edge", Name: "central-cluster-kubeconfig"},
		StringData: map[string]string{"value": "apiVersion: v1\nkind: Config\nusers:\n- user:\n    token: " + plantedSecret + "\n"}}); err != nil {
		return err
	}

	// The CAPI Cluster the central cluster owns, and an event about the central cluster.
	capi := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Cluster",
		"metadata": map[string]any{"namespace": "edge", "name": "central-cluster"},
		"spec":     map[string]any{"clusterNetwork": map[string]any{"serviceDomain": "cluster.local"}},
	}}
	capi.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: automationv1alpha1.GroupVersion.String(), Kind: "Cluster", Name: central.Name, UID: central.UID}})
	if err := c.Create(ctx, capi); err != nil {
		return fmt.Errorf("creating the CAPI Cluster: %w", err)
	}
	if err := c.Create(ctx, &eventsv1.Event{
		ObjectMeta: metav1.ObjectMeta{Namespace: "edge", Name: "central-cluster.applied"},
		EventTime:  metav1.NewMicroTime(time.Now()), ReportingController: "lkaas", ReportingInstance: "lkaas-0",
		Action: "Apply", Reason: "Applied", Type: corev1.EventTypeNormal, Note: "applied 7 Cluster API objects",
		Regarding: corev1.ObjectReference{APIVersion: automationv1alpha1.GroupVersion.String(), Kind: "Cluster", Namespace: "edge", Name: central.Name, UID: central.UID},
	}); err != nil {
		return err
	}
	return nil
}
