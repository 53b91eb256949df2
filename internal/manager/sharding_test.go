package manager_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/fluxcd/pkg/runtime/logger"
	"github.com/fluxcd/pkg/testserver"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/internal/apply"
	"github.com/dcn-ssu/lkaas/internal/manager"
)

const shardWait, shardTick = 60 * time.Second, 100 * time.Millisecond

// Two controllers share one API server as Flux shards do: one started with
// --watch-label-selector=sharding.fluxcd.io/key=shard1, the main one with
// '!sharding.fluxcd.io/key'. Each reconciles only its own Fleet, and everything a Fleet
// produced (its profile, catalog and Cluster, and the CAPI objects rendered for the Cluster)
// carries the Fleet's shard label, or none.
func TestShardsReconcileOnlyTheirFleets(t *testing.T) {
	artifacts, err := testserver.NewTempArtifactServer()
	require.NoError(t, err)
	artifacts.Start()
	t.Cleanup(func() { artifacts.Stop(); _ = os.RemoveAll(artifacts.Root()) })

	sharded := newShardFleet(t, artifacts, "shard1")
	unsharded := newShardFleet(t, artifacts, "")

	stopShard := startManager(t, apply.ShardLabel+"=shard1")
	sharded.waitApplied(t, sharded.revision)
	sharded.assertProduced(t, "shard1")

	// The shard never touches the unlabelled Fleet: no status, nothing applied.
	assert.Never(t, func() bool {
		f := unsharded.get(t)
		return len(f.Status.Conditions) > 0 || unsharded.clusterCount(t) > 0
	}, 3*time.Second, shardTick, "the shard1 controller reconciled an unlabelled Fleet")

	stopMain := startManager(t, "!"+apply.ShardLabel)
	unsharded.waitApplied(t, unsharded.revision)
	unsharded.assertProduced(t, "")

	// With the main controller stopped, a new commit of its Fleet waits: the shard does not
	// take it over; the shard's own Fleet still follows its commits.
	stopMain()
	mainClusters := unsharded.clusterCount(t)
	mainRev := unsharded.push(t, "c1", "c2")
	shardRev := sharded.push(t, "c1", "c2")
	sharded.waitApplied(t, shardRev)
	sharded.assertProduced(t, "shard1")
	assert.Never(t, func() bool {
		f := unsharded.get(t)
		return f.Status.LastAttemptedRevision == mainRev || unsharded.clusterCount(t) != mainClusters
	}, 3*time.Second, shardTick, "the shard1 controller reconciled an unlabelled Fleet")

	// Stopping the shard and restarting the main controller: only the main Fleet moves on.
	stopShard()
	startManager(t, "!"+apply.ShardLabel)
	unsharded.waitApplied(t, mainRev)
	unsharded.assertProduced(t, "")
}

// startManager runs an L-KaaS manager with the selector until the test ends or the returned
// function is called.
func startManager(t *testing.T, selector string) (stop func()) {
	t.Helper()
	opts := manager.Options{MetricsAddr: "0", HealthAddr: "0", ConcurrentReconciles: 2, ArtifactMaxSize: 1 << 20,
		SharedProfileNamespaces: []string{"default"}, WatchLabelSelector: selector, SkipNameValidation: true}
	opts.Logger = logger.Options{LogEncoding: "console", LogLevel: "error"}
	mgr, err := manager.New(env.Config, opts)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			assert.NoError(t, err)
		case <-time.After(time.Minute):
			t.Error("manager did not stop")
		}
	}
	t.Cleanup(stop)
	return stop
}

// shardFleet is a Fleet in a namespace of its own, with the GitRepository it reads.
type shardFleet struct {
	ns        string
	repo      *sourcev1.GitRepository
	fleet     *automationv1alpha1.Fleet
	artifacts *testserver.ArtifactServer
	revision  string
	template  string
}

func newShardFleet(t *testing.T, artifacts *testserver.ArtifactServer, shard string) *shardFleet {
	t.Helper()
	ctx := context.Background()
	tmpl, err := os.ReadFile("../../gitops-examples/fleet-repo/templates/docker-inmemory/cluster-template.yaml")
	require.NoError(t, err)
	s := &shardFleet{ns: env.Namespace(t), artifacts: artifacts, template: string(tmpl)}
	s.repo = &sourcev1.GitRepository{
		ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: "repo"},
		Spec:       sourcev1.GitRepositorySpec{URL: "http://127.0.0.1:1/repo.git", Interval: metav1.Duration{Duration: time.Hour}},
	}
	require.NoError(t, env.Client.Create(ctx, s.repo))
	s.revision = s.push(t, "c1")
	s.fleet = &automationv1alpha1.Fleet{
		ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: "fleet"},
		Spec: automationv1alpha1.FleetSpec{
			SourceRef: automationv1alpha1.SourceReference{Kind: sourcev1.GitRepositoryKind, Name: "repo"},
			Interval:  metav1.Duration{Duration: time.Hour},
			Prune:     true,
		},
	}
	if shard != "" {
		s.fleet.Labels = map[string]string{apply.ShardLabel: shard}
	}
	require.NoError(t, env.Client.Create(ctx, s.fleet))
	return s
}

// push publishes a profile, a catalog and the named clusters as the repository's next
// artifact, and returns its revision.
func (s *shardFleet) push(t *testing.T, clusters ...string) string {
	t.Helper()
	files := []testserver.File{
		{Name: "templates/inmemory.yaml", Body: s.template},
		{Name: "profiles/inmemory.yaml", Body: `apiVersion: automation.dcn.ssu.ac.kr/v1alpha1
kind: InfrastructureProfile
metadata:
  name: inmemory
spec:
  profileName: inmemory
  type: Infrastructure
  revision: 1.0.0
  template:
    path: templates/inmemory.yaml
  values:
    kubernetesVersion: v1.34.1
    controlPlaneMachineCount: 1
    workerMachineCount: 1
`},
		{Name: "catalogs/inmemory.yaml", Body: `apiVersion: automation.dcn.ssu.ac.kr/v1alpha1
kind: ClusterCatalog
metadata:
  name: inmemory
spec:
  infrastructure:
    provider: docker
    profile: {name: inmemory, type: Infrastructure, revision: 1.0.0}
`},
		// A logical cluster: its member Cluster is created by the LogicalCluster controller,
		// not applied by the Fleet, and must follow the Fleet's shard all the same.
		{Name: "logical/group.yaml", Body: `apiVersion: intent.automation.dcn.ssu.ac.kr/v1
kind: LogicalCluster
metadata:
  name: group
spec:
  clusters:
    - cluster:
        name: member
        spec:
          clustercatalog: inmemory
`},
	}
	for _, c := range clusters {
		files = append(files, testserver.File{Name: "clusters/" + c + ".yaml",
			Body: "apiVersion: automation.dcn.ssu.ac.kr/v1alpha1\nkind: Cluster\nmetadata:\n  name: " + c + "\nspec:\n  clusterCatalog: inmemory\n"})
	}
	name, err := s.artifacts.ArtifactFromFiles(files)
	require.NoError(t, err)
	data, err := os.ReadFile(filepath.Join(s.artifacts.Root(), name))
	require.NoError(t, err)
	url, err := s.artifacts.URLForFile(name)
	require.NoError(t, err)
	revision := fmt.Sprintf("main@sha1:%x", sha256.Sum256(data))[:len("main@sha1:")+40]
	ctx := context.Background()
	require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(s.repo), s.repo))
	size := int64(len(data))
	s.repo.Status.Artifact = &meta.Artifact{Path: name, URL: url, Revision: revision,
		Digest: fmt.Sprintf("sha256:%x", sha256.Sum256(data)), LastUpdateTime: metav1.Now(), Size: &size}
	conditions.MarkTrue(s.repo, meta.ReadyCondition, meta.SucceededReason, "stored artifact for revision %s", revision)
	require.NoError(t, env.Client.Status().Update(ctx, s.repo))
	return revision
}

func (s *shardFleet) get(t *testing.T) *automationv1alpha1.Fleet {
	t.Helper()
	f := &automationv1alpha1.Fleet{}
	require.NoError(t, env.Client.Get(context.Background(), client.ObjectKeyFromObject(s.fleet), f))
	return f
}

func (s *shardFleet) clusterCount(t *testing.T) int {
	t.Helper()
	var list automationv1alpha1.ClusterList
	require.NoError(t, env.Client.List(context.Background(), &list, client.InNamespace(s.ns)))
	return len(list.Items)
}

func (s *shardFleet) waitApplied(t *testing.T, revision string) {
	t.Helper()
	var f *automationv1alpha1.Fleet
	if !assert.Eventually(t, func() bool {
		f = s.get(t)
		return f.Status.LastAppliedRevision == revision && conditions.IsReady(f) && f.Status.ObservedGeneration == f.Generation
	}, shardWait, shardTick) {
		t.Fatalf("Fleet %s never applied %s; status: %+v", s.ns, revision, f.Status)
	}
}

// assertProduced checks that every L-KaaS object of the namespace, and the CAPI objects
// rendered for its Clusters, carry the shard label with the value (none for "").
func (s *shardFleet) assertProduced(t *testing.T, shard string) {
	t.Helper()
	ctx := context.Background()
	check := func(what string, o client.Object) {
		got, ok := o.GetLabels()[apply.ShardLabel]
		if shard == "" {
			assert.False(t, ok, "%s %s/%s is labelled %s=%q", what, s.ns, o.GetName(), apply.ShardLabel, got)
		} else {
			assert.Equal(t, shard, got, "%s %s/%s", what, s.ns, o.GetName())
		}
	}
	var profiles automationv1alpha1.InfrastructureProfileList
	require.NoError(t, env.Client.List(ctx, &profiles, client.InNamespace(s.ns)))
	var catalogs automationv1alpha1.ClusterCatalogList
	require.NoError(t, env.Client.List(ctx, &catalogs, client.InNamespace(s.ns)))
	// The logical cluster's member comes from the LogicalCluster controller of the same shard.
	member := &automationv1alpha1.Cluster{}
	require.Eventually(t, func() bool {
		return env.Client.Get(ctx, client.ObjectKey{Namespace: s.ns, Name: "member"}, member) == nil
	}, shardWait, shardTick, "no member Cluster of the logical cluster in %s", s.ns)
	var clusters automationv1alpha1.ClusterList
	require.NoError(t, env.Client.List(ctx, &clusters, client.InNamespace(s.ns)))
	require.NotEmpty(t, profiles.Items)
	require.NotEmpty(t, catalogs.Items)
	require.NotEmpty(t, clusters.Items)
	for i := range profiles.Items {
		check("InfrastructureProfile", &profiles.Items[i])
	}
	for i := range catalogs.Items {
		check("ClusterCatalog", &catalogs.Items[i])
	}
	for i := range clusters.Items {
		check("Cluster", &clusters.Items[i])
	}

	// The Cluster controller of the same shard renders each Cluster's CAPI objects.
	for _, c := range clusters.Items {
		for _, kind := range []struct{ apiVersion, kind, name string }{
			{"cluster.x-k8s.io/v1beta2", "Cluster", c.Name},
			{"controlplane.cluster.x-k8s.io/v1beta2", "KubeadmControlPlane", c.Name + "-control-plane"},
		} {
			u := &unstructured.Unstructured{}
			u.SetAPIVersion(kind.apiVersion)
			u.SetKind(kind.kind)
			if !assert.Eventually(t, func() bool {
				return env.Client.Get(ctx, client.ObjectKey{Namespace: s.ns, Name: kind.name}, u) == nil &&
					(shard == "" || u.GetLabels()[apply.ShardLabel] == shard)
			}, shardWait, shardTick, "%s %s/%s never rendered for shard %q", kind.kind, s.ns, kind.name, shard) {
				continue
			}
			check(kind.kind, u)
		}
	}
}
