// Package testenv holds what tests need on top of the local management plane
// (internal/plane): one API server per test package, started in TestMain, and a namespace of
// its own for each test.
package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/dcn-ssu/lkaas/internal/plane"
)

// Env is a running kube-apiserver and etcd for a test package.
type Env struct {
	*plane.APIServer
}

// Start starts kube-apiserver and etcd with the L-KaaS CRDs and what opts add.
func Start(opts ...plane.Option) (*Env, error) {
	api, err := plane.Start(opts...)
	if err != nil {
		return nil, err
	}
	return &Env{APIServer: api}, nil
}

// Namespace creates a namespace with a unique name for one test; it is deleted when the test
// ends. (Without kube-controller-manager it stays Terminating, which no test minds.)
func (e *Env) Namespace(t testing.TB) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "test-"}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.Client.Create(ctx, ns); err != nil {
		t.Fatalf("creating namespace: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = e.Client.Delete(ctx, ns)
	})
	return ns.Name
}

// Run is a TestMain helper: it starts an Env, runs the package's tests and stops it.
//
//	func TestMain(m *testing.M) { testenv.Run(m, &env, plane.WithFluxSourceCRDs()) }
func Run(m *testing.M, env **Env, opts ...plane.Option) {
	e, err := Start(opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	*env = e
	code := m.Run()
	if err := e.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "testenv: stop:", err)
	}
	os.Exit(code)
}

// Output collects a child process's output as it comes, safe to read while it is written.
type Output struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// Eventually polls cond every 100 ms until it holds or timeout passes; then t fails with
// cond's last account of what it saw and where the logs are (the plane's directory).
func Eventually(t testing.TB, timeout time.Duration, what, logs string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s; last seen: %s\n(management plane logs: %s)", what, timeout, state, logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Git runs the git command line in dir ("" for the working directory) as a test author, with
// no user or system configuration and no prompt, and returns its trimmed output.
func Git(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=L-KaaS tests", "GIT_AUTHOR_EMAIL=tests@example.com",
		"GIT_COMMITTER_NAME=L-KaaS tests", "GIT_COMMITTER_EMAIL=tests@example.com", "GIT_TERMINAL_PROMPT=0",
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}
