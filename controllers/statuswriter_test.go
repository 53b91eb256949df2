package controllers_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/gittestserver"
	"github.com/fluxcd/pkg/runtime/conditions"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/controllers"
	"github.com/dcn-ssu/lkaas/internal/gitstatus"
	"github.com/dcn-ssu/lkaas/internal/plane"
	"github.com/dcn-ssu/lkaas/internal/scheme"
	"github.com/dcn-ssu/lkaas/internal/testenv"
)

// statusEnv is an API server of its own with only the status writer running, a Git server
// over HTTP with the fleet repository on "main", and a Fleet watching it. The test plays the
// other controllers by writing status itself, so it decides exactly when state changes.
type statusEnv struct {
	t   *testing.T
	e   *testenv.Env
	git *gittestserver.GitServer
	url string
	ns  string
}

const statusWindow = time.Second

func startStatusEnv(t *testing.T, auth ...string) *statusEnv {
	t.Helper()
	return startStatusEnvWithHold(t, 0, auth...)
}

// startStatusEnvWithHold runs the status writer with a hold of climbing clusters.
func startStatusEnvWithHold(t *testing.T, hold time.Duration, auth ...string) *statusEnv {
	t.Helper()
	e, err := testenv.Start(plane.WithFluxSourceCRDs())
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Stop() })

	srv, err := gittestserver.NewTempGitServer()
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(srv.Root()) })
	fixture := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(fixture, "fleet.yaml"), []byte("# the fleet's documents\n"), 0o644))
	require.NoError(t, srv.InitRepo(fixture, "main", "org/fleet.git"))
	if len(auth) == 2 {
		srv.Auth(auth[0], auth[1])
	}
	require.NoError(t, srv.StartHTTP())
	t.Cleanup(srv.StopHTTP)

	skip := true
	mgr, err := ctrl.NewManager(e.Config, ctrl.Options{
		Scheme: scheme.New(), Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
		Controller: config.Controller{SkipNameValidation: &skip},
	})
	require.NoError(t, err)
	w := &controllers.StatusWriter{Client: mgr.GetClient(), Cache: mgr.GetCache(), APIReader: mgr.GetAPIReader(),
		Events: mgr.GetEventRecorder("lkaas"), Writer: &gitstatus.Writer{TempDir: t.TempDir(), Backoff: 20 * time.Millisecond},
		Window: statusWindow, Hold: hold, CredentialsOverHTTP: true}
	require.NoError(t, w.SetupWithManager(mgr))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	s := &statusEnv{t: t, e: e, git: srv, url: srv.HTTPAddress() + "/org/fleet.git", ns: "starlab"}
	require.NoError(t, e.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: s.ns}}))
	return s
}

// fleet creates the GitRepository and the Fleet, with write-back as mutate leaves it.
func (s *statusEnv) fleet(mutate ...func(*automationv1alpha1.Fleet)) *automationv1alpha1.Fleet {
	ctx := context.Background()
	require.NoError(s.t, s.e.Client.Create(ctx, &sourcev1.GitRepository{
		ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: "fleet"},
		Spec: sourcev1.GitRepositorySpec{URL: s.url, Interval: metav1.Duration{Duration: time.Hour},
			Reference: &sourcev1.GitRepositoryRef{Branch: "main"}},
	}))
	f := &automationv1alpha1.Fleet{
		ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: "fleet"},
		Spec: automationv1alpha1.FleetSpec{
			SourceRef: automationv1alpha1.SourceReference{Kind: sourcev1.GitRepositoryKind, Name: "fleet"},
			Interval:  metav1.Duration{Duration: time.Hour},
			WriteBack: &automationv1alpha1.WriteBack{},
		},
	}
	for _, m := range mutate {
		m(f)
	}
	require.NoError(s.t, s.e.Client.Create(ctx, f))
	s.setFleetRevision("main@sha1:1111111111111111111111111111111111111111")
	return f
}

func (s *statusEnv) setFleetRevision(rev string) {
	require.Eventually(s.t, func() bool {
		f := &automationv1alpha1.Fleet{}
		if err := s.e.Client.Get(context.Background(), client.ObjectKey{Namespace: s.ns, Name: "fleet"}, f); err != nil {
			return false
		}
		f.Status.LastAppliedRevision, f.Status.LastAttemptedRevision = rev, rev
		conditions.MarkTrue(f, "Ready", "Succeeded", "Applied revision: %s", rev)
		return s.e.Client.Status().Update(context.Background(), f) == nil
	}, defaultWait, tick)
}

// cluster creates a Cluster of the Fleet in phase, as the Cluster controller would report it.
func (s *statusEnv) cluster(name string, phase automationv1alpha1.ClusterPhase) {
	c := &automationv1alpha1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: name, Labels: fleetLabels(s.ns)},
		Spec: automationv1alpha1.ClusterSpec{Tenant: "starlab", ClusterCatalog: "edge"}}
	require.NoError(s.t, s.e.Client.Create(context.Background(), c))
	s.phase(name, phase)
}

func (s *statusEnv) phase(name string, phase automationv1alpha1.ClusterPhase) {
	require.Eventually(s.t, func() bool {
		c := &automationv1alpha1.Cluster{}
		if err := s.e.Client.Get(context.Background(), client.ObjectKey{Namespace: s.ns, Name: name}, c); err != nil {
			return false
		}
		c.Status.Phase = phase
		c.Status.SourceRevision = "main@sha1:1111111111111111111111111111111111111111"
		c.Status.ControlPlaneVersion = "v1.34.1"
		c.Status.KubeconfigSecretName = name + "-kubeconfig"
		return s.e.Client.Status().Update(context.Background(), c) == nil
	}, defaultWait, tick)
}

// clone fetches branch with the git CLI; "" when the branch does not exist.
func (s *statusEnv) clone(branch string) string {
	dir := s.t.TempDir()
	out, err := gitRun(dir, "clone", "--quiet", "--branch", branch, s.url, "repo")
	if err != nil {
		if strings.Contains(out, "not found") {
			return ""
		}
		s.t.Fatalf("git clone: %v: %s", err, out)
	}
	return filepath.Join(dir, "repo")
}

// commits lists the subjects of the status branch, newest first.
func (s *statusEnv) commits(branch string) []string {
	repo := s.clone(branch)
	if repo == "" {
		return nil
	}
	out, err := gitRun(repo, "log", "--format=%s")
	require.NoError(s.t, err, out)
	return strings.Split(strings.TrimSpace(out), "\n")
}

// gitRun runs the git command line in dir, as a person reviewing the status would.
// waitFile waits until the file at rel on branch satisfies ok, then for the writer to be
// idle (a window with no further commit), and returns the number of commits then.
func (s *statusEnv) waitFile(branch, rel, what string, ok func(string) bool) int {
	s.t.Helper()
	var got string
	if !assert.Eventually(s.t, func() bool {
		repo := s.clone(branch)
		if repo == "" {
			return false
		}
		data, err := os.ReadFile(filepath.Join(repo, rel))
		got = string(data)
		return err == nil && ok(got)
	}, defaultWait, 200*time.Millisecond) {
		s.t.Fatalf("%s never %s; it holds %q", rel, what, got)
	}
	return s.idle(branch)
}

// idle waits until several windows pass without a commit and returns the commit count. One
// writer pass (a clone and a push) can take seconds on a loaded machine, so the quiet period
// is well above a pass, not just above the window.
func (s *statusEnv) idle(branch string) int {
	s.t.Helper()
	n := len(s.commits(branch))
	for range 10 {
		time.Sleep(5 * statusWindow)
		m := len(s.commits(branch))
		if m == n {
			return n
		}
		n = m
	}
	out, _ := gitRun(s.clone(branch), "log", "-p", "-3")
	s.t.Fatalf("the status writer never stops committing; the last commits:\n%s", out)
	return 0
}

func gitRun(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Human", "GIT_AUTHOR_EMAIL=human@example.com",
		"GIT_COMMITTER_NAME=Human", "GIT_COMMITTER_EMAIL=human@example.com", "GIT_TERMINAL_PROMPT=0")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// The first write creates the status branch from the watched branch with a document per
// object and a README; nothing changes in Git while nothing is observed to change; a burst of
// twenty clusters changing phase becomes one commit; a human's push in between is kept;
// nothing secret reaches the history.
func TestStatusWriterCommitsChangesOfObservedState(t *testing.T) {
	s := startStatusEnv(t)
	ctx := context.Background()
	s.fleet()
	for i := range 20 {
		s.cluster(fmt.Sprintf("edge-%02d", i), automationv1alpha1.ClusterPhaseProvisioning)
	}
	writeKubeconfig(t, s.e.Client, s.ns, "edge-00", fakeKubeconfig("edge-00", 1))

	settled := s.waitFile("lkaas/status", "status/starlab/cluster/edge-19.yaml", "says Provisioning",
		func(doc string) bool { return strings.Contains(doc, "phase: Provisioning") })
	subjects := s.commits("lkaas/status")
	repo := s.clone("lkaas/status")
	for i := range 20 {
		doc, err := os.ReadFile(filepath.Join(repo, "status", s.ns, "cluster", fmt.Sprintf("edge-%02d.yaml", i)))
		require.NoError(t, err)
		assert.Contains(t, string(doc), "phase: Provisioning")
	}
	assert.FileExists(t, filepath.Join(repo, "status", s.ns, "fleet", "fleet.yaml"))
	assert.FileExists(t, filepath.Join(repo, "status", "README.md"))
	assert.Equal(t, "lkaas: status of Fleet starlab/fleet at main@sha1:1111111111111111111111111111111111111111", subjects[0])
	trailers, _ := gitRun(repo, "log", "-1", "--format=%(trailers:only)")
	assert.Equal(t, "Fleet: starlab/fleet\nSource-Revision: main@sha1:1111111111111111111111111111111111111111\n\n", trailers,
		"the trailers the status page reads the history by")
	author, _ := gitRun(repo, "log", "-1", "--format=%an <%ae>")
	assert.Equal(t, "L-KaaS <lkaas@noreply.dcn.ssu.ac.kr>\n", author)
	main := s.clone("main")
	assert.NoDirExists(t, filepath.Join(main, "status"), "the watched branch gets no status commit")

	// Events without a change of state (labels, annotations): no commit.
	touch := func(name string) {
		require.Eventually(t, func() bool {
			c := &automationv1alpha1.Cluster{}
			require.NoError(t, s.e.Client.Get(ctx, client.ObjectKey{Namespace: s.ns, Name: name}, c))
			c.Annotations = map[string]string{"test/touched": time.Now().String()}
			return s.e.Client.Update(ctx, c) == nil
		}, defaultWait, tick)
	}
	touch("edge-00")
	touch("edge-01")
	time.Sleep(3 * statusWindow)
	assert.Len(t, s.commits("lkaas/status"), settled, "no commit without a change of observed state")

	// Someone else pushes to the status branch; then all twenty clusters turn Ready at once.
	human := s.clone("lkaas/status")
	require.NoError(t, os.WriteFile(filepath.Join(human, "NOTES.md"), []byte("reviewed\n"), 0o644))
	for _, args := range [][]string{{"add", "NOTES.md"}, {"commit", "--quiet", "-m", "human: review notes"}, {"push", "--quiet", "origin", "lkaas/status"}} {
		out, err := gitRun(human, args...)
		require.NoError(t, err, out)
	}
	burstBegan := time.Now()
	for i := range 20 {
		s.phase(fmt.Sprintf("edge-%02d", i), automationv1alpha1.ClusterPhaseReady)
	}
	burst := time.Since(burstBegan)
	afterBurst := s.waitFile("lkaas/status", "status/starlab/cluster/edge-19.yaml", "says Ready",
		func(doc string) bool { return strings.Contains(doc, "phase: Ready") })
	subjects = s.commits("lkaas/status")
	// The writer gathers what changes within a window into one pass. Twenty status writes
	// take a few hundred milliseconds, or seconds on a loaded machine: count what that
	// allows, one pass per window the burst spanned.
	writerCommits := afterBurst - settled - 1
	require.Equal(t, "human: review notes", subjects[writerCommits], "the writer's commits sit on top of the human's: %q", subjects)
	if burst < statusWindow/2 {
		assert.Equal(t, 1, writerCommits, "twenty phase changes within half a window, one commit: %q", subjects)
	} else {
		assert.LessOrEqual(t, writerCommits, int(burst/statusWindow)+2, "the burst took %s; one commit per window at most: %q", burst, subjects)
		t.Logf("the burst of twenty writes took %s (window %s): %d commits", burst, statusWindow, writerCommits)
	}
	repo = s.clone("lkaas/status")
	assert.FileExists(t, filepath.Join(repo, "NOTES.md"), "the human's commit is kept")
	for i := range 20 {
		doc, err := os.ReadFile(filepath.Join(repo, "status", s.ns, "cluster", fmt.Sprintf("edge-%02d.yaml", i)))
		require.NoError(t, err)
		assert.Contains(t, string(doc), "phase: Ready")
	}

	// A deleted cluster's document goes.
	require.NoError(t, s.e.Client.Delete(ctx, &automationv1alpha1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: "edge-19"}}))
	require.Eventually(t, func() bool {
		repo := s.clone("lkaas/status")
		_, err := os.Stat(filepath.Join(repo, "status", s.ns, "cluster", "edge-19.yaml"))
		return repo != "" && os.IsNotExist(err)
	}, defaultWait, 200*time.Millisecond, "the deleted cluster's document goes")
	s.idle("lkaas/status")

	// Nothing secret anywhere in the history: not the kubeconfig, not its Secret's name.
	history, err := gitRun(s.clone("lkaas/status"), "log", "-p", "--all")
	require.NoError(t, err)
	assert.NotContains(t, history, "secret-token-edge-00")
	assert.NotContains(t, history, "edge-00-kubeconfig")

	// The Fleet's status follows the push.
	head, _ := gitRun(s.clone("lkaas/status"), "rev-parse", "HEAD")
	var f automationv1alpha1.Fleet
	assert.Eventually(t, func() bool {
		require.NoError(t, s.e.Client.Get(ctx, client.ObjectKey{Namespace: s.ns, Name: "fleet"}, &f))
		return f.Status.WriteBack != nil && f.Status.WriteBack.LastPushedCommit == strings.TrimSpace(head)
	}, defaultWait, tick, "status.writeBack.lastPushedCommit is the branch's head %s", head)
	assert.True(t, conditions.IsTrue(&f, controllers.StatusWrittenCondition))

	// A new status branch, with no change of observed state: the state goes there too.
	require.Eventually(t, func() bool {
		var f automationv1alpha1.Fleet
		require.NoError(t, s.e.Client.Get(ctx, client.ObjectKey{Namespace: s.ns, Name: "fleet"}, &f))
		f.Spec.WriteBack.Branch = "lkaas/status-2"
		return s.e.Client.Update(ctx, &f) == nil
	}, defaultWait, tick)
	s.waitFile("lkaas/status-2", "status/starlab/cluster/edge-00.yaml", "written to the new branch",
		func(doc string) bool { return strings.Contains(doc, "phase: Ready") })
}

// Status on the branch the Fleet watches: the commit makes a new revision, the Fleet applies
// it, and that alone (a new revision, no new state) commits nothing — no loop.
func TestStatusWriterOnTheWatchedBranchMakesNoLoop(t *testing.T) {
	s := startStatusEnv(t)
	s.fleet(func(f *automationv1alpha1.Fleet) {
		f.Spec.WriteBack.Branch = "main"
		f.Spec.WriteBack.Path = "observed"
	})
	s.cluster("central", automationv1alpha1.ClusterPhaseReady)
	count := s.waitFile("main", "observed/starlab/cluster/central.yaml", "says Ready",
		func(doc string) bool { return strings.Contains(doc, "phase: Ready") })
	head, _ := gitRun(s.clone("main"), "rev-parse", "HEAD")
	s.setFleetRevision("main@sha1:" + strings.TrimSpace(head)) // what Flux and the Fleet controller do next
	time.Sleep(3 * statusWindow)
	assert.Len(t, s.commits("main"), count, "a new revision alone is not a change of state")
	assert.FileExists(t, filepath.Join(s.clone("main"), "observed", s.ns, "cluster", "central.yaml"))
}

// Wrong credentials: a clear condition and error on the Fleet, no secret in them; fixed
// credentials: the status is pushed.
func TestStatusWriterReportsWrongCredentials(t *testing.T) {
	s := startStatusEnv(t, "lkaas", "the-right-password")
	ctx := context.Background()
	require.NoError(t, s.e.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: "git"},
		Data: map[string][]byte{"username": []byte("lkaas"), "password": []byte("a-wrong-password")}}))
	s.fleet(func(f *automationv1alpha1.Fleet) {
		f.Spec.WriteBack.SecretRef = &automationv1alpha1.LocalObjectReference{Name: "git"}
	})
	s.cluster("central", automationv1alpha1.ClusterPhaseReady)

	var f automationv1alpha1.Fleet
	require.Eventually(t, func() bool {
		require.NoError(t, s.e.Client.Get(ctx, client.ObjectKey{Namespace: s.ns, Name: "fleet"}, &f))
		c := conditions.Get(&f, controllers.StatusWrittenCondition)
		return c != nil && c.Status == metav1.ConditionFalse && f.Status.WriteBack != nil && f.Status.WriteBack.LastError != ""
	}, defaultWait, tick)
	msg := conditions.GetMessage(&f, controllers.StatusWrittenCondition)
	assert.Contains(t, strings.ToLower(msg), "authentication")
	assert.NotContains(t, msg, "a-wrong-password")

	secret := &corev1.Secret{}
	require.NoError(t, s.e.Client.Get(ctx, client.ObjectKey{Namespace: s.ns, Name: "git"}, secret))
	secret.Data["password"] = []byte("the-right-password")
	require.NoError(t, s.e.Client.Update(ctx, secret))
	// The retry comes with controller-runtime's backoff.
	require.Eventually(t, func() bool {
		require.NoError(t, s.e.Client.Get(ctx, client.ObjectKey{Namespace: s.ns, Name: "fleet"}, &f))
		return conditions.IsTrue(&f, controllers.StatusWrittenCondition) && f.Status.WriteBack.LastError == ""
	}, 2*time.Minute, 200*time.Millisecond)

	// What was pushed holds no credential.
	dir := t.TempDir()
	out, err := gitRun(dir, "clone", "--quiet", "--branch", "lkaas/status", s.git.HTTPAddressWithCredentials()+"/org/fleet.git", "repo")
	require.NoError(t, err, out)
	history, err := gitRun(filepath.Join(dir, "repo"), "log", "-p", "--all")
	require.NoError(t, err)
	assert.Contains(t, history, "status/starlab/cluster/central.yaml")
	assert.NotContains(t, history, "the-right-password")
	assert.NotContains(t, history, "a-wrong-password")
}

// climb puts a cluster on a rung of its ladder as the Cluster controller reports it: the phase,
// and Ready False for the phase's reason (True once Ready).
func (s *statusEnv) climb(name string, phase automationv1alpha1.ClusterPhase) {
	require.Eventually(s.t, func() bool {
		c := &automationv1alpha1.Cluster{}
		if err := s.e.Client.Get(context.Background(), client.ObjectKey{Namespace: s.ns, Name: name}, c); err != nil {
			return false
		}
		c.Status.Phase = phase
		if phase == automationv1alpha1.ClusterPhaseReady {
			conditions.MarkTrue(c, "Ready", "Succeeded", "Cluster is Available")
		} else {
			conditions.MarkFalse(c, "Ready", string(phase), "climbing")
		}
		return s.e.Client.Status().Update(context.Background(), c) == nil
	}, defaultWait, tick)
}

// A climbing cluster's steps wait in Git until it settles: the step is held (the writer says
// so), Ready goes at once, and a step that nothing follows still reaches Git when its hold
// ends, with no other event to wake the writer.
func TestStatusWriterHoldsAClimbingCluster(t *testing.T) {
	const hold = 20 * time.Second
	s := startStatusEnvWithHold(t, hold)
	s.fleet()
	s.cluster("edge", automationv1alpha1.ClusterPhasePending)
	doc := filepath.Join("status", s.ns, "cluster", "edge.yaml")
	s.waitFile("lkaas/status", doc, "shows the new cluster", func(d string) bool { return strings.Contains(d, "phase: Pending") })

	// A rung up: held, and the writer says so.
	s.climb("edge", automationv1alpha1.ClusterPhaseProvisioning)
	require.Eventually(t, func() bool {
		f := &automationv1alpha1.Fleet{}
		require.NoError(t, s.e.Client.Get(context.Background(), client.ObjectKey{Namespace: s.ns, Name: "fleet"}, f))
		return strings.Contains(conditions.GetMessage(f, controllers.StatusWrittenCondition), "still climbing")
	}, defaultWait, tick, "the writer reports a held cluster")
	data, err := os.ReadFile(filepath.Join(s.clone("lkaas/status"), doc))
	require.NoError(t, err)
	assert.Contains(t, string(data), "phase: Pending", "the rung waits")

	// Ready goes at once, long before the hold would end.
	s.climb("edge", automationv1alpha1.ClusterPhaseReady)
	s.waitFile("lkaas/status", doc, "shows Ready", func(d string) bool { return strings.Contains(d, "phase: Ready") })

	// An upgrade's first step, then nothing: the hold's end alone brings it to Git.
	s.climb("edge", automationv1alpha1.ClusterPhaseUpgrading)
	s.waitFile("lkaas/status", doc, "shows the upgrade once its hold ended", func(d string) bool { return strings.Contains(d, "phase: Upgrading") })
}
