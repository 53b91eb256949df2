// Package demo runs the L-KaaS demo: a local management plane (real kube-apiserver and etcd
// with the L-KaaS, Flux source and Cluster API CRDs), the L-KaaS controller against it, and the
// example fleet applied, until the context ends.
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

	"github.com/fluxcd/pkg/runtime/logger"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dcn-ssu/lkaas/internal/manager"
	"github.com/dcn-ssu/lkaas/internal/testenv"
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

	fmt.Fprintln(out, "==> applying the example fleet")
	if err := applyExamples(ctx, env.Client); err != nil {
		return err
	}

	fmt.Fprintf(out, "\nThe management plane is up.\n\n  export KUBECONFIG=%s\n  kubectl get lkaas -A\n\n", kubeconfig)
	showObjects(ctx, out, kubeconfig)

	if !opts.Wait {
		return nil
	}
	fmt.Fprintln(out, "Press Ctrl-C to tear it all down.")
	<-ctx.Done()
	return nil
}

// applyExamples creates the example documents; objects already there are left alone.
func applyExamples(ctx context.Context, c client.Client) error {
	objs, err := exampleObjects()
	if err != nil {
		return err
	}
	for _, obj := range objs {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: obj.GetNamespace()}}
		if err := c.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
		if err := c.Create(ctx, obj); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("applying %s %s/%s: %w", obj.GetKind(), obj.GetNamespace(), obj.GetName(), err)
		}
	}
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
