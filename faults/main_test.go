//go:build faults

package faults

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fluxcd/pkg/gittestserver"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/dcn-ssu/lkaas/internal/plane"
)

// The suite's shared parts: one management plane with an audit log, one Git server behind a
// gate that can refuse pushes, and the lkaas binary the controller replicas run.
var (
	mgmt      *plane.Plane
	auditPath string
	gitServer *gittestserver.GitServer
	gitGate   *pushGate
	lkaasBin  string
)

// leaseNamespace holds the controller replicas' leader-election lease.
const leaseNamespace = "lkaas-system"

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) (code int) {
	begin := time.Now()
	step := func(format string, args ...any) {
		fmt.Printf("faults: %-60s %6.1fs\n", fmt.Sprintf(format, args...), time.Since(begin).Seconds())
	}
	logDir, err := os.MkdirTemp("", "lkaas-faults-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		return 1
	}
	auditPath = filepath.Join(logDir, "audit", "audit.log")
	if err := os.MkdirAll(filepath.Dir(auditPath), 0o700); err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		return 1
	}
	mgmt, err = plane.StartManagementPlane(logDir, func(ready string) { step("ready: %s", ready) }, plane.WithAuditLog(auditPath))
	if err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		return 1
	}
	defer func() {
		if err := mgmt.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "faults: stopping the plane:", err)
		}
		if code != 0 || os.Getenv("LKAAS_E2E_KEEP_LOGS") != "" {
			fmt.Fprintln(os.Stderr, "faults: management plane logs kept in", logDir)
			return
		}
		_ = os.RemoveAll(logDir)
	}()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: leaseNamespace}}
	if err := mgmt.APIServer.Client.Create(context.Background(), ns); err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		return 1
	}

	gitLog, err := os.Create(filepath.Join(logDir, "git-server.log"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		return 1
	}
	defer gitLog.Close()
	log.SetOutput(gitLog)
	if gitServer, err = gittestserver.NewTempGitServer(); err != nil {
		fmt.Fprintln(os.Stderr, "faults: git server:", err)
		return 1
	}
	defer func() { _ = os.RemoveAll(gitServer.Root()) }()
	if err := gitServer.StartHTTP(); err != nil {
		fmt.Fprintln(os.Stderr, "faults: git server:", err)
		return 1
	}
	defer gitServer.StopHTTP()
	target, err := url.Parse(gitServer.HTTPAddress())
	if err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		return 1
	}
	gitGate = &pushGate{proxy: httputil.NewSingleHostReverseProxy(target)}
	gate := httptest.NewServer(gitGate)
	defer gate.Close()
	gitGate.url = gate.URL
	step("git server at %s, behind a push gate at %s", gitServer.HTTPAddress(), gate.URL)

	root, err := plane.RepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		return 1
	}
	lkaasBin = filepath.Join(logDir, "lkaas")
	build := exec.Command("go", "build", "-o", lkaasBin, "./cmd/lkaas")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "faults: building lkaas: %v\n%s", err, out)
		return 1
	}
	step("built lkaas")
	code = m.Run()
	printResults()
	return code
}

// pushGate is the Git server as L-KaaS and source-controller reach it, with a switch that
// answers every push (receive-pack) with 503, as a hosted Git server in an outage does.
type pushGate struct {
	proxy   *httputil.ReverseProxy
	url     string
	refuse  atomic.Bool
	refused atomic.Int64
}

func (g *pushGate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if g.refuse.Load() && (strings.HasSuffix(r.URL.Path, "/git-receive-pack") || r.URL.Query().Get("service") == "git-receive-pack") {
		g.refused.Add(1)
		http.Error(w, "service unavailable", http.StatusServiceUnavailable)
		return
	}
	g.proxy.ServeHTTP(w, r)
}
