// Package demo runs the L-KaaS demo: a local management plane (real kube-apiserver and etcd
// with the L-KaaS, Flux source and Cluster API CRDs), the L-KaaS controller against it, and
// gitops-examples/fleet-repo published as a Flux artifact and applied by two Fleets, until the
// context ends. (The real source-controller and Git server come with the end-to-end issue.)
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/dcn-ssu/lkaas/internal/manager"
	"github.com/dcn-ssu/lkaas/internal/testenv"
	"github.com/fluxcd/pkg/runtime/logger"
	"github.com/fluxcd/pkg/testserver"
)

// Options of a demo run.
type Options struct {
	// StateDir keeps the kubeconfig and logs; default ~/.cache/lkaas/demo.
	StateDir string
	// Wait keeps the plane up until the context ends; false tears it down once it is shown.
	Wait bool
	// Out receives what the demo shows.
	Out io.Writer
}

// Run starts the plane, applies the examples, shows them, and tears everything down when ctx
// ends (Ctrl-C) or, without Wait, right away.
func Run(ctx context.Context, opts Options) (err error) {
	if opts.Out == nil {
		opts.Out = os.Stdout
	}
	if opts.StateDir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return err
		}
		opts.StateDir = filepath.Join(cache, "lkaas", "demo")
	}
	if err := os.MkdirAll(opts.StateDir, 0o700); err != nil {
		return err
	}
	out := opts.Out

	fmt.Fprintln(out, "==> starting kube-apiserver and etcd (the first run builds them: several minutes)")
	env, err := testenv.Start(testenv.WithFluxSourceCRDs(), testenv.WithClusterAPICRDs())
	if err != nil {
		return err
	}
	defer func() {
		fmt.Fprintln(out, "==> tearing down")
		err = errors.Join(err, env.Stop())
	}()

	kubeconfig := filepath.Join(opts.StateDir, "kubeconfig")
	data, err := env.Kubeconfig()
	if err != nil {
		return err
	}
	if err := os.WriteFile(kubeconfig, data, 0o600); err != nil {
		return err
	}

	fmt.Fprintln(out, "==> starting the L-KaaS controller")
	mgrOpts := manager.Options{MetricsAddr: "127.0.0.1:0", HealthAddr: "127.0.0.1:0"}
	// The demo's screen is for the fleet; the controller only speaks up on errors.
	mgrOpts.Logger = logger.Options{LogEncoding: "console", LogLevel: "error"}
	mgr, err := manager.New(env.Config, mgrOpts)
	if err != nil {
		return err
	}
	mgrCtx, stopManager := context.WithCancel(ctx)
	mgrDone := make(chan error, 1)
	go func() { mgrDone <- mgr.Start(mgrCtx) }()
	defer func() {
		stopManager()
		err = errors.Join(err, <-mgrDone)
	}()

	fmt.Fprintln(out, "==> publishing gitops-examples/fleet-repo as a Flux artifact")
	artifacts, err := testserver.NewTempArtifactServer()
	if err != nil {
		return err
	}
	artifacts.Start()
	defer func() { artifacts.Stop(); _ = os.RemoveAll(artifacts.Root()) }()
	revision, err := publishExampleRepository(ctx, env.Client, artifacts)
	if err != nil {
		return err
	}

	fmt.Fprintf(out, "==> creating the Fleets: platform (profiles, namespace default) and starlab (tenants/starlab)\n")
	start := time.Now()
	if err := createFleets(ctx, env.Client); err != nil {
		return err
	}
	if err := waitForFleets(ctx, env.Client, revision, 2*time.Minute); err != nil {
		return err
	}
	fmt.Fprintf(out, "==> both Fleets applied revision %s in %.1fs\n", revision, time.Since(start).Seconds())

	fmt.Fprintf(out, "\nThe management plane is up.\n\n  export KUBECONFIG=%s\n  kubectl get lkaas -A\n\n", kubeconfig)
	showObjects(ctx, out, kubeconfig)

	if !opts.Wait {
		return nil
	}
	fmt.Fprintln(out, "Press Ctrl-C to tear it all down.")
	<-ctx.Done()
	return nil
}

// showObjects prints `kubectl get lkaas -A` when kubectl is installed.
func showObjects(ctx context.Context, out io.Writer, kubeconfig string) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, kubectl, "--kubeconfig", kubeconfig, "get", "lkaas", "-A")
	cmd.Stdout, cmd.Stderr = out, out
	_ = cmd.Run()
	fmt.Fprintln(out)
}
