//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/fluxcd/pkg/gittestserver"
	"github.com/fluxcd/pkg/runtime/logger"

	"github.com/dcn-ssu/lkaas/internal/manager"
	"github.com/dcn-ssu/lkaas/internal/plane"
	"github.com/dcn-ssu/lkaas/internal/source"
)

var (
	// plane is the management plane every test of the package shares: kube-apiserver and etcd
	// with the L-KaaS, Flux source and Cluster API CRDs, kube-controller-manager and Flux
	// source-controller as child processes, and the L-KaaS manager in this process.
	mgmt *plane.Plane
	// gitServer serves Git repositories over HTTP; each test pushes repositories of its own.
	gitServer *gittestserver.GitServer
)

// TestMain starts the plane, a Git server and the L-KaaS manager, runs the tests and stops
// them all. The plane's logs are removed when the tests pass and kept (their directory
// printed) when they fail; LKAAS_E2E_KEEP_LOGS=1 keeps them anyway.
func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) (code int) {
	if _, err := exec.LookPath("git"); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: the Git server needs the git binary:", err)
		return 1
	}
	begin := time.Now()
	step := func(format string, args ...any) {
		fmt.Printf("e2e: %-50s %6.1fs\n", fmt.Sprintf(format, args...), time.Since(begin).Seconds())
	}

	var err error
	mgmt, err = plane.StartManagementPlane("", func(ready string) { step("ready: %s", ready) })
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer func() {
		// Before anything stops: the peaks of every process the tests ran.
		if report, err := plane.PlaneMemory(); err == nil {
			fmt.Printf("e2e: peak memory of the management plane and this test process:\n%s", report)
		}
		if err := mgmt.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: stopping the plane:", err)
			if code == 0 {
				code = 1
			}
		}
		if code != 0 || os.Getenv("LKAAS_E2E_KEEP_LOGS") != "" {
			fmt.Fprintln(os.Stderr, "e2e: management plane logs kept in", mgmt.LogDir)
			return
		}
		_ = os.RemoveAll(mgmt.LogDir)
	}()

	// The Git server logs each request through the standard logger: into the plane's logs.
	gitLog, err := os.Create(filepath.Join(mgmt.LogDir, "git-server.log"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer gitLog.Close()
	log.SetOutput(gitLog)
	gitServer, err = gittestserver.NewTempGitServer()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: git server:", err)
		return 1
	}
	defer func() { _ = os.RemoveAll(gitServer.Root()) }()
	if err := gitServer.StartHTTP(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: git server:", err)
		return 1
	}
	defer gitServer.StopHTTP()
	step("git server at %s", gitServer.HTTPAddress())

	opts := manager.Options{
		MetricsAddr: "0", HealthAddr: "0", ConcurrentReconciles: 4,
		ArtifactMaxSize:         source.DefaultMaxUntarSize,
		SharedProfileNamespaces: []string{"default"},
		// The Git server speaks plain HTTP on loopback.
		GitCredentialsOverHTTP: true,
		// An existing cluster's API server cannot be watched: ask it often enough that a
		// stop and a start show within a test's wait.
		ExistingProbeInterval: 5 * time.Second, ExistingProbeTimeout: 3 * time.Second,
	}
	// The manager logs to stderr; LKAAS_E2E_LOG_LEVEL=info (or debug) shows more than errors.
	opts.Logger = logger.Options{LogEncoding: "console", LogLevel: "error"}
	if level := os.Getenv("LKAAS_E2E_LOG_LEVEL"); level != "" {
		opts.Logger.LogLevel = level
	}
	mgr, err := manager.New(mgmt.APIServer.Config, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: L-KaaS manager:", err)
		return 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	// The manager stops before the plane (deferred calls run last in, first out).
	defer func() {
		cancel()
		if err := <-done; err != nil {
			fmt.Fprintln(os.Stderr, "e2e: L-KaaS manager:", err)
		}
	}()
	syncCtx, syncCancel := context.WithTimeout(ctx, time.Minute)
	defer syncCancel()
	if !mgr.GetCache().WaitForCacheSync(syncCtx) {
		fmt.Fprintln(os.Stderr, "e2e: the L-KaaS manager's caches did not sync within a minute")
		return 1
	}
	step("L-KaaS manager started, caches synced")

	return m.Run()
}
