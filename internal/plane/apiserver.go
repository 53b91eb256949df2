// Package plane is the local management plane: kube-apiserver and etcd built from the Go module
// proxy by hack/tools.sh (started through controller-runtime's envtest, with the L-KaaS CRDs and,
// on request, Flux source and Cluster API CRDs installed), and the real controllers beside them
// (kube-controller-manager, Flux source-controller, the Cluster API managers) as child processes.
// `lkaas demo`, the end-to-end tests, the fault suite and the integration tests run on it.
//
// Process control is part of its API: every part can be stopped, killed, paused and started
// again on its own (etcd's data, the API server's port, certificates and users are kept), so a
// fault can be injected at a chosen point of real work. Test-only helpers live in
// internal/testenv.
package plane

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	lkaasscheme "github.com/dcn-ssu/lkaas/internal/scheme"
)

// APIServer is a running kube-apiserver and its etcd.
type APIServer struct {
	// Config reaches the API server as a cluster administrator.
	Config *rest.Config
	// Client is a direct (uncached) client with the L-KaaS scheme.
	Client client.Client
	// Scheme knows every kind L-KaaS uses.
	Scheme *runtime.Scheme

	env         *envtest.Environment
	removeShims func()
	// dir holds the API server's certificates and etcd's data, so both survive a restart.
	dir string
	// The real binaries the shims exec, by which process control finds the processes.
	apiServerBinary, etcdBinary string
}

type options struct {
	fluxSource bool
	clusterAPI bool
	capd       bool
	helmAddon  bool
	crdDirs    []string
	auditLog   string
}

// Option adds to what Start installs.
type Option func(*options)

// WithFluxSourceCRDs installs Flux source-controller's CRDs (GitRepository, …).
func WithFluxSourceCRDs() Option { return func(o *options) { o.fluxSource = true } }

// WithClusterAPICRDs installs the CRDs of CAPI core, kubeadm bootstrap and control plane.
func WithClusterAPICRDs() Option { return func(o *options) { o.clusterAPI = true } }

// WithCAPDCRDs installs the CRDs of CAPD, whose in-memory backend the demo uses.
func WithCAPDCRDs() Option { return func(o *options) { o.capd = true } }

// WithHelmAddonCRDs installs the CRDs of cluster-api-addon-provider-helm (HelmChartProxy).
func WithHelmAddonCRDs() Option { return func(o *options) { o.helmAddon = true } }

// WithAuditLog makes the API server write an audit log (one JSON event per request, at the
// Metadata level) to path, for tests that must know exactly which requests were made.
func WithAuditLog(path string) Option { return func(o *options) { o.auditLog = path } }

// WithCRDDirs installs the CRDs found in more directories.
func WithCRDDirs(dirs ...string) Option {
	return func(o *options) { o.crdDirs = append(o.crdDirs, dirs...) }
}

// Start builds (if needed) and starts etcd and kube-apiserver, installs the CRDs and waits
// until they are served.
func Start(opts ...Option) (*APIServer, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}

	apiServer, err := ToolPath("kube-apiserver")
	if err != nil {
		return nil, err
	}
	etcd, err := ToolPath("etcd")
	if err != nil {
		return nil, err
	}

	lkaasCRDs, err := LKaaSCRDDir()
	if err != nil {
		return nil, err
	}
	dirs := []string{lkaasCRDs}
	if o.fluxSource {
		dir, err := FluxSourceCRDDir()
		if err != nil {
			return nil, err
		}
		dirs = append(dirs, dir)
	}
	if o.clusterAPI {
		capi, err := ClusterAPICRDDirs()
		if err != nil {
			return nil, err
		}
		dirs = append(dirs, capi...)
	}
	for _, extra := range []struct {
		on  bool
		dir func() (string, error)
	}{{o.capd, CAPDCRDDir}, {o.helmAddon, HelmAddonCRDDir}} {
		if !extra.on {
			continue
		}
		dir, err := extra.dir()
		if err != nil {
			return nil, err
		}
		dirs = append(dirs, dir)
	}
	dirs = append(dirs, o.crdDirs...)

	// envtest starts them itself; the shims make them die with this process (lifetime.go).
	shims, removeShims, err := boundShims(map[string]string{"kube-apiserver": apiServer, "etcd": etcd})
	if err != nil {
		return nil, fmt.Errorf("plane: %w", err)
	}
	// Directories of our own, not envtest's temporary ones (removed on every stop), so that a
	// restarted API server keeps its port, certificates and users, and etcd its data.
	dir, err := os.MkdirTemp("", "lkaas-apiserver-")
	if err != nil {
		removeShims()
		return nil, err
	}
	for _, sub := range []string{"certs", "etcd"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o700); err != nil {
			removeShims()
			return nil, err
		}
	}
	cleanUp := func() { removeShims(); _ = os.RemoveAll(dir) }

	scheme := lkaasscheme.New()
	env := &envtest.Environment{
		Scheme:                   scheme,
		CRDInstallOptions:        envtest.CRDInstallOptions{Paths: dirs, ErrorIfPathMissing: true, Scheme: scheme},
		ControlPlaneStartTimeout: 2 * time.Minute,
		ControlPlaneStopTimeout:  time.Minute,
		AttachControlPlaneOutput: os.Getenv("LKAAS_TESTENV_VERBOSE") != "",
	}
	env.ControlPlane.GetAPIServer().Path = shims["kube-apiserver"]
	env.ControlPlane.GetAPIServer().CertDir = filepath.Join(dir, "certs")
	if o.auditLog != "" {
		policy := filepath.Join(filepath.Dir(o.auditLog), "audit-policy.yaml")
		if err := os.WriteFile(policy, []byte(auditPolicy), 0o600); err != nil {
			cleanUp()
			return nil, err
		}
		env.ControlPlane.GetAPIServer().Configure().
			Set("audit-policy-file", policy).
			Set("audit-log-path", o.auditLog).
			Set("audit-log-mode", "blocking")
	}
	env.ControlPlane.Etcd = &envtest.Etcd{Path: shims["etcd"], DataDir: filepath.Join(dir, "etcd")}

	cfg, err := env.Start()
	if err != nil {
		_ = env.Stop()
		cleanUp()
		return nil, fmt.Errorf("plane: starting kube-apiserver and etcd: %w", err)
	}
	// Many tests and the demo write at once; the client-go defaults (5 qps) would throttle them.
	cfg.QPS, cfg.Burst = 500, 1000

	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		_ = env.Stop()
		cleanUp()
		return nil, fmt.Errorf("plane: client: %w", err)
	}
	return &APIServer{Config: cfg, Client: c, Scheme: scheme, env: env, removeShims: removeShims, dir: dir,
		apiServerBinary: apiServer, etcdBinary: etcd}, nil
}

// auditPolicy records every request at the Metadata level, after it completes.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived", "ResponseStarted"]
rules:
  - level: Metadata
`

// Stop ends the API server and etcd and removes their data.
func (e *APIServer) Stop() error {
	if e == nil || e.env == nil {
		return nil
	}
	defer func() { e.removeShims(); _ = os.RemoveAll(e.dir) }()
	return e.env.Stop()
}

// Kubeconfig returns a kubeconfig for a cluster administrator (for kubectl and the demo).
func (e *APIServer) Kubeconfig() ([]byte, error) { return e.AdminKubeconfig("lkaas-admin") }

// AdminKubeconfig returns a kubeconfig for a cluster administrator of the given user name, so
// that the API server's audit log tells apart processes that would otherwise look alike (two
// replicas of one controller).
func (e *APIServer) AdminKubeconfig(user string) ([]byte, error) {
	u, err := e.env.AddUser(envtest.User{Name: user, Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return nil, err
	}
	return u.KubeConfig()
}
