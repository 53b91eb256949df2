// Package demo runs the L-KaaS demo on the real local management plane: kube-apiserver, etcd,
// kube-controller-manager, Flux source-controller and the Cluster API managers (CAPD
// in-memory) as child processes; a Git server and the EMCO emulator on loopback; and the
// L-KaaS controller. It pushes the seed's mec-cluster to the Git server, creates the tenant's
// GitRepository and Fleet, shows the members live until the logical cluster is Ready, and
// keeps showing them (a push of a new version rolls them in waves) until the context ends.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fluxcd/pkg/gittestserver"
	"github.com/fluxcd/pkg/runtime/logger"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dcn-ssu/lkaas/internal/emco/emcotest"
	"github.com/dcn-ssu/lkaas/internal/manager"
	"github.com/dcn-ssu/lkaas/internal/plane"
	"github.com/dcn-ssu/lkaas/internal/source"
)

// Options of a demo run.
type Options struct {
	// StateDir keeps the kubeconfig, the logs and the Git server's repositories; default
	// ~/.cache/lkaas/demo. A previous run's state is removed.
	StateDir string
	// Wait keeps the plane up, showing changes, until the context ends; false tears it down
	// once the logical cluster is Ready.
	Wait bool
	// PlaneOnly starts the plane, the Git server, the emulator and the controller, prints how
	// to reach them, and pushes nothing: a bare management plane for developers.
	PlaneOnly bool
	// ReadyTimeout bounds the wait for a Ready logical cluster; default 15 minutes.
	ReadyTimeout time.Duration
	// Out receives what the demo shows.
	Out io.Writer
}

// How often source-controller looks for a push: short, so that a push shows up quickly.
const pollInterval = 20 * time.Second

// Run starts the plane, pushes the repository, shows the logical cluster coming up, and tears
// everything down when ctx ends (Ctrl-C) or, without Wait, once it is Ready.
func Run(ctx context.Context, opts Options) (err error) {
	if err := opts.defaults(); err != nil {
		return err
	}
	if err := checkNoOtherPlane(); err != nil {
		return err
	}
	// A previous run's logs and repositories would only confuse.
	if err := os.RemoveAll(opts.StateDir); err != nil {
		return err
	}
	logDir := filepath.Join(opts.StateDir, "logs")
	if err := os.MkdirAll(logDir, 0o700); err != nil {
		return err
	}
	// What the terminal shows also goes to demo.log, which keeps the teardown's lines when the
	// terminal is gone.
	shown, err := os.Create(filepath.Join(opts.StateDir, "demo.log"))
	if err != nil {
		return err
	}
	defer shown.Close()
	out := &screen{terminal: opts.Out, log: shown}
	begin := time.Now()
	say := func(format string, args ...any) {
		fmt.Fprintf(out, "==> %-78s %5.1fs\n", fmt.Sprintf(format, args...), time.Since(begin).Seconds())
	}

	fmt.Fprintf(out, "==> starting the management plane; logs in %s\n", logDir)
	mgmt, err := plane.StartManagementPlane(logDir, func(ready string) { say("ready: %s", ready) })
	if err != nil {
		return err
	}
	defer func() {
		fmt.Fprintln(out, "==> tearing down: the L-KaaS controller, the Git server, the EMCO emulator, then every process of the plane")
		err = errors.Join(err, mgmt.Stop())
		if err == nil {
			fmt.Fprintln(out, "==> every process stopped")
		}
	}()

	emcoURL, stopEMCO, err := startEMCOEmulator(filepath.Join(logDir, "emco-emulator.log"))
	if err != nil {
		return err
	}
	defer stopEMCO()
	say("EMCO emulator at %s", emcoURL)

	git, stopGit, err := startGitServer(filepath.Join(opts.StateDir, "git"), filepath.Join(logDir, "git-server.log"))
	if err != nil {
		return err
	}
	defer stopGit()
	stopController, err := startController(ctx, mgmt, out)
	if err != nil {
		return err
	}
	defer stopController()
	say("L-KaaS controller started")

	if opts.PlaneOnly {
		printPlane(out, mgmt, git.HTTPAddress(), emcoURL)
		<-ctx.Done()
		return nil
	}

	repoURL := git.HTTPAddress() + "/lkaas/mec.git"
	if err := pushMecRepository(git, filepath.Join(opts.StateDir, "fleet-repository")); err != nil {
		return err
	}
	say("pushed the mec-cluster fleet repository to %s", repoURL)

	c := mgmt.APIServer.Client
	if err := createTenant(ctx, c, repoURL, emcoURL); err != nil {
		return err
	}
	say("created GitRepository %s/%s and Fleet %s/%s (EMCO, status to %s)", Namespace, GitRepositoryName, Namespace, FleetName, StatusBranch)

	watch := &watcher{c: c, out: out, begin: time.Now()}
	if err := watch.untilReady(ctx, opts.ReadyTimeout); err != nil {
		if ctx.Err() != nil {
			return nil // Ctrl-C while it came up
		}
		return err
	}
	say("logical cluster %s/%s Ready: every member Available in CAPI and registered with EMCO", Namespace, LogicalClusterName)
	printNextSteps(out, mgmt.Kubeconfig, repoURL, emcoURL)
	if !opts.Wait {
		return nil
	}
	fmt.Fprintln(out, "Showing changes as they happen. Press Ctrl-C to tear it all down.")
	watch.untilDone(ctx)
	return nil
}

func (o *Options) defaults() error {
	if o.Out == nil {
		o.Out = os.Stdout
	}
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = 15 * time.Minute
	}
	if o.StateDir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return err
		}
		o.StateDir = filepath.Join(cache, "lkaas", "demo")
	}
	return nil
}

// startEMCOEmulator serves the EMCO emulator on a loopback port, logging each request.
func startEMCOEmulator(logPath string) (url string, stop func(), err error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = logFile.Close()
		return "", nil, err
	}
	reqLog := log.New(logFile, "", log.LstdFlags)
	emu := emcotest.New()
	handler := emu.Handler()
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqLog.Printf("%s %s", r.Method, r.URL.Path)
		handler.ServeHTTP(w, r)
	})}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		_ = logFile.Close()
	}, nil
}

// startGitServer serves Git repositories under root over HTTP on loopback. The server logs
// every request through the standard logger, which goes to logPath.
func startGitServer(root, logPath string) (*gittestserver.GitServer, func(), error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, nil, err
	}
	log.SetOutput(logFile)
	// AutoCreate: a push to a repository that does not exist yet creates it.
	git := gittestserver.NewGitServer(root).AutoCreate()
	if err := git.StartHTTP(); err != nil {
		_ = logFile.Close()
		return nil, nil, fmt.Errorf("demo: starting the Git server: %w", err)
	}
	return git, func() {
		git.StopHTTP()
		log.SetOutput(os.Stderr)
		_ = logFile.Close()
	}, nil
}

// pushMecRepository writes the demo repository to dir and pushes it as lkaas/mec.git, branch
// main.
func pushMecRepository(git *gittestserver.GitServer, dir string) error {
	if err := WriteMecRepository(dir); err != nil {
		return err
	}
	if err := git.InitRepo(dir, "main", "lkaas/mec.git"); err != nil {
		return fmt.Errorf("demo: pushing the fleet repository: %w", err)
	}
	// The bare repository's HEAD still names master; a plain `git clone` must check out main.
	head := filepath.Join(git.Root(), "lkaas", "mec.git", "HEAD")
	return os.WriteFile(head, []byte("ref: refs/heads/main\n"), 0o644)
}

// startController runs the L-KaaS manager in this process, as `lkaas controller` would run it
// on the plane, and waits for its caches.
func startController(ctx context.Context, mgmt *plane.Plane, out io.Writer) (stop func(), err error) {
	opts := manager.Options{
		MetricsAddr: "0", HealthAddr: "0", ConcurrentReconciles: 4,
		ArtifactMaxSize: source.DefaultMaxUntarSize,
		// The local Git server speaks plain HTTP on loopback.
		GitCredentialsOverHTTP: true,
		// The binary's default (--status-hold): a member's steps up its ladder wait in the
		// status branch until it settles.
		StatusHold: 5 * time.Minute,
	}
	webAddr := make(chan string, 1) // the status page, on a free loopback port
	opts.WebAddr, opts.WebListening = "127.0.0.1:0", func(a string) { webAddr <- a }
	// The demo's screen is for the fleet: the controller's lines go to its log file.
	logFile, err := os.Create(filepath.Join(mgmt.LogDir, "lkaas-controller.log"))
	if err != nil {
		return nil, err
	}
	opts.Logger = logger.Options{LogEncoding: "json", LogLevel: "info"}
	opts.LogOutput = logFile
	mgr, err := manager.New(mgmt.APIServer.Config, opts)
	if err != nil {
		_ = logFile.Close()
		return nil, err
	}
	mgrCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mgrCtx) }()
	stop = func() {
		cancel()
		if err := <-done; err != nil {
			fmt.Fprintln(out, "L-KaaS controller:", err)
		}
		_ = logFile.Close()
	}
	syncCtx, syncCancel := context.WithTimeout(ctx, time.Minute)
	defer syncCancel()
	if !mgr.GetCache().WaitForCacheSync(syncCtx) {
		stop()
		return nil, errors.New("demo: the L-KaaS controller's caches did not sync within a minute")
	}
	select {
	case a := <-webAddr:
		fmt.Fprintf(out, "==> status page (read-only, live): http://%s\n", a)
	case <-syncCtx.Done():
	}
	return stop, nil
}

// createTenant creates the tenant's namespace, GitRepository and Fleet.
func createTenant(ctx context.Context, c client.Client, repoURL, emcoURL string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: Namespace}}
	for _, obj := range []client.Object{ns, GitRepository(repoURL, pollInterval), Fleet(emcoURL)} {
		if err := c.Create(ctx, obj); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("demo: creating %s %s: %w", obj.GetObjectKind().GroupVersionKind().Kind, obj.GetName(), err)
		}
	}
	return nil
}

// printPlane tells where the parts of a bare plane are.
func printPlane(out io.Writer, mgmt *plane.Plane, gitURL, emcoURL string) {
	fmt.Fprintf(out, `
The management plane is up: Flux source-controller, Cluster API (CAPD in-memory), L-KaaS.

  export KUBECONFIG=%s
  Git server:     %s/<org>/<repo>.git (create a repository by pushing to it)
  EMCO emulator:  %s (a Fleet's spec.emco.endpoints[].url)
  source-controller artifacts: http://%s
  logs:           %s

Press Ctrl-C to tear it all down.
`, mgmt.Kubeconfig, gitURL, emcoURL, mgmt.SourceStorageAddr, mgmt.LogDir)
}

// printNextSteps tells what to try with the plane that is up.
func printNextSteps(out io.Writer, kubeconfig, repoURL, emcoURL string) {
	lkaas := "lkaas"
	if exe, err := os.Executable(); err == nil {
		lkaas = exe
	}
	steps := []string{
		"Look at it:",
		"  export KUBECONFIG=" + kubeconfig,
		"  " + lkaas + " status " + FleetName + " -n " + Namespace + "      # the Fleet as a tree",
		"  kubectl get lkaas -n " + Namespace + "               # if you have kubectl",
		"",
		"Upgrade the members in waves (the centre first, then one edge at a time):",
		"  git clone " + repoURL + " mec && cd mec",
		"  sed -i 's/kubernetesVersion: v1.34.1/kubernetesVersion: v1.35.0/' tenant/mec-cluster.yaml",
		"  git commit -am 'mec-cluster: Kubernetes v1.35.0' && git push",
		"  # source-controller sees the push within " + pollInterval.String() + "; the table below follows the waves",
		"",
		"Read the status L-KaaS writes back to Git:",
		"  git fetch origin " + StatusBranch + " && git log --stat origin/" + StatusBranch,
		"  " + lkaas + " status --git " + repoURL,
		"",
		"EMCO (the emulator): curl " + emcoURL + "/v2/projects/dcn/logical-clouds",
		"",
	}
	fmt.Fprintln(out)
	fmt.Fprintln(out, strings.Join(steps, "\n"))
}
