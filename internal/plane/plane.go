package plane

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Plane is the local management plane of the demo, the end-to-end tests and the fault suite:
// kube-apiserver and etcd, and the real controllers beside it (kube-controller-manager, Flux
// source-controller, and the Cluster API managers) as child processes that read a kubeconfig
// written to LogDir. Each process logs to LogDir/<name>.log; Stop ends them all by process
// group and keeps the logs.
type Plane struct {
	// APIServer is kube-apiserver and etcd, with the Flux source CRDs and whatever StartPlane's
	// options add.
	APIServer *APIServer
	// LogDir holds the kubeconfig, every process's log and source-controller's storage.
	LogDir string
	// Kubeconfig is the path of a cluster-administrator kubeconfig for child processes.
	Kubeconfig string

	// SourceStorageAddr is the host:port where source-controller serves artifacts.
	SourceStorageAddr string
	// ClusterAPI is the four Cluster API managers, once StartClusterAPI returned.
	ClusterAPI *ClusterAPI

	mu        sync.Mutex
	processes []*Process
	stopped   bool
}

// Bounds on the waits of the plane; each is well above what a 2-core machine needs.
const (
	// controllerManagerReadyTimeout covers the garbage collector's first sync of every
	// resource, the slowest part of kube-controller-manager's start (a few seconds).
	controllerManagerReadyTimeout = 2 * time.Minute
	// sourceControllerReadyTimeout covers source-controller's cache sync (a few seconds).
	sourceControllerReadyTimeout = 2 * time.Minute
)

// StartPlane starts the API server and etcd with the Flux source CRDs (all six of
// source-controller's, which it needs) and opts, and writes the kubeconfig. logDir "" makes a
// temporary directory. Start the controllers with the Start methods; call Stop when done.
func StartPlane(logDir string, opts ...Option) (*Plane, error) {
	if logDir == "" {
		dir, err := os.MkdirTemp("", "lkaas-plane-")
		if err != nil {
			return nil, err
		}
		logDir = dir
	}
	if err := os.MkdirAll(logDir, 0o700); err != nil {
		return nil, err
	}
	api, err := Start(append([]Option{WithFluxSourceCRDs()}, opts...)...)
	if err != nil {
		return nil, err
	}
	p := &Plane{APIServer: api, LogDir: logDir, Kubeconfig: filepath.Join(logDir, "kubeconfig")}
	data, err := api.Kubeconfig()
	if err == nil {
		err = os.WriteFile(p.Kubeconfig, data, 0o600)
	}
	if err != nil {
		return nil, errors.Join(fmt.Errorf("plane: writing the plane's kubeconfig: %w", err), p.Stop())
	}
	return p, nil
}

// StartManagementPlane starts the whole local management plane of the demo and the
// end-to-end tests: StartPlane, then kube-controller-manager, Flux source-controller and the
// Cluster API managers (the L-KaaS manager follows their kinds, so it starts after). step is
// told what became ready, in order; opts add to what the API server installs (an audit log,
// more CRDs). On a failure everything started is stopped again.
func StartManagementPlane(logDir string, step func(ready string), opts ...Option) (*Plane, error) {
	if step == nil {
		step = func(string) {}
	}
	p, err := StartPlane(logDir, opts...)
	if err != nil {
		return nil, err
	}
	step("kube-apiserver and etcd")
	starts := []struct {
		what  string
		start func() error
	}{
		{"kube-controller-manager (garbage collector, namespaces)", p.StartControllerManager},
		{"Flux source-controller", p.StartSourceController},
		{"Cluster API managers (core, kubeadm bootstrap and control plane, CAPD in-memory)", p.StartClusterAPI},
	}
	for _, s := range starts {
		if err := s.start(); err != nil {
			return nil, errors.Join(err, p.Stop())
		}
		step(s.what)
	}
	return p, nil
}

// StartProcess starts a process of the plane (logging to LogDir unless spec says otherwise)
// and remembers it, so that Stop ends it.
func (p *Plane) StartProcess(spec ProcessSpec) (*Process, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return nil, errors.New("plane: the plane is stopped")
	}
	if spec.LogDir == "" {
		spec.LogDir = p.LogDir
	}
	proc, err := StartProcess(spec)
	if err != nil {
		return nil, err
	}
	p.processes = append(p.processes, proc)
	return proc, nil
}

// StartControllerManager runs kube-controller-manager with the two controllers the plane
// needs, the garbage collector (objects go when their owners go) and the namespace controller
// (deleted namespaces are emptied and go away), and waits until the garbage collector has
// synced every resource and /healthz answers.
func (p *Plane) StartControllerManager() error {
	path, err := BuiltToolPath("kube-controller-manager")
	if err != nil {
		return err
	}
	port, err := FreePort()
	if err != nil {
		return err
	}
	_, err = p.StartProcess(ProcessSpec{
		Name: "kube-controller-manager",
		Path: path,
		Args: []string{
			"--kubeconfig=" + p.Kubeconfig,
			"--controllers=garbage-collector-controller,namespace-controller",
			"--leader-elect=false",
			"--bind-address=127.0.0.1",
			fmt.Sprintf("--secure-port=%d", port),
			"--cert-dir=" + filepath.Join(p.LogDir, "kube-controller-manager-certs"),
		},
		// /healthz answers as soon as the server listens; the garbage collector only collects
		// once it has listed every resource, which its log says.
		Ready: func(proc *Process) error {
			if err := proc.WaitForLog(controllerManagerReadyTimeout, "Proceeding to collect garbage"); err != nil {
				return err
			}
			return waitHTTPOK(proc, fmt.Sprintf("https://127.0.0.1:%d/healthz", port), 30*time.Second)
		},
	})
	return p.startFailed(err)
}

// StartSourceController runs Flux source-controller on all namespaces, with its artifact
// storage in LogDir, and waits until the GitRepository controller's workers start (its
// /readyz answers before it works).
func (p *Plane) StartSourceController() error {
	path, err := BuiltToolPath("source-controller")
	if err != nil {
		return err
	}
	var ports [3]int
	for i := range ports {
		if ports[i], err = FreePort(); err != nil {
			return err
		}
	}
	storage := filepath.Join(p.LogDir, "source-controller-storage")
	if err := os.MkdirAll(storage, 0o700); err != nil {
		return err
	}
	storageAddr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	_, err = p.StartProcess(ProcessSpec{
		Name: "source-controller",
		Path: path,
		Args: []string{
			"--storage-path=" + storage,
			"--storage-addr=" + storageAddr,
			"--storage-adv-addr=" + storageAddr,
			fmt.Sprintf("--metrics-addr=127.0.0.1:%d", ports[1]),
			fmt.Sprintf("--health-addr=127.0.0.1:%d", ports[2]),
			"--enable-leader-election=false",
			"--watch-all-namespaces=true",
			"--log-encoding=json",
		},
		// source-controller has no --kubeconfig flag.
		Env: []string{"KUBECONFIG=" + p.Kubeconfig},
		Ready: func(proc *Process) error {
			if err := proc.WaitForLog(sourceControllerReadyTimeout, "Starting workers", `"controller":"gitrepository"`); err != nil {
				return err
			}
			return proc.WaitForTCP(storageAddr, 30*time.Second)
		},
	})
	if err := p.startFailed(err); err != nil {
		return err
	}
	p.mu.Lock()
	p.SourceStorageAddr = storageAddr
	p.mu.Unlock()
	return nil
}

// startFailed says where the logs are when a process did not start or become ready
// (StartProcess has stopped it then); nil stays nil.
func (p *Plane) startFailed(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("plane: %w\n(all logs of the plane: %s)", err, p.LogDir)
}

// Stop ends every process by process group, newest first, then the API server and etcd. The
// logs stay in LogDir. Stopping twice is harmless.
func (p *Plane) Stop() error {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return nil
	}
	p.stopped = true
	procs := p.processes
	p.mu.Unlock()

	var errs []error
	if p.ClusterAPI != nil {
		p.ClusterAPI.Stop()
	}
	for i := len(procs) - 1; i >= 0; i-- {
		if err := procs[i].Stop(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := p.APIServer.Stop(); err != nil {
		errs = append(errs, fmt.Errorf("stopping kube-apiserver and etcd: %w", err))
	}
	return errors.Join(errs...)
}

// StartClusterAPI installs the Cluster API CRDs and webhooks of core, kubeadm bootstrap,
// kubeadm control plane and CAPD (in-memory backend) and starts the four managers; Stop ends
// them.
func (p *Plane) StartClusterAPI() error {
	capi, err := StartClusterAPI(p.APIServer, p.LogDir, p.Kubeconfig)
	if err != nil {
		return fmt.Errorf("plane: %w\n(all logs of the plane: %s)", err, p.LogDir)
	}
	p.mu.Lock()
	p.ClusterAPI = capi
	p.mu.Unlock()
	return nil
}

// waitHTTPOK waits until url answers 200. The server's certificate is its own self-signed
// one, so it is not verified: the check is only about readiness, on a loopback address.
func waitHTTPOK(proc *Process, url string, timeout time.Duration) error {
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // loopback readiness probe
	}}
	defer hc.CloseIdleConnections()
	var last string
	err := waitContext(context.Background(), timeout, func() (bool, error) {
		if proc.Exited() {
			return false, fmt.Errorf("%s exited; see %s:\n%s", proc.Name, proc.LogPath, proc.Tail(20))
		}
		resp, err := hc.Get(url)
		if err != nil {
			last = err.Error()
			return false, nil
		}
		_ = resp.Body.Close()
		last = resp.Status
		return resp.StatusCode == http.StatusOK, nil
	})
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %s did not answer 200 within %s (last: %s); see %s", proc.Name, url, timeout, last, proc.LogPath)
	}
	return err
}
