package plane

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Part is one process of the plane, under process control so that a fault can be injected
// into it at a chosen moment of real work.
type Part interface {
	// Stop ends it in order (SIGTERM, then SIGKILL after a grace period) and waits until it
	// is gone.
	Stop() error
	// Kill ends it at once with SIGKILL, as the OOM killer or a lost node would.
	Kill() error
	// Start runs it again with the same flags, ports and data, and waits until it is ready.
	Start() error
	// Pause stops it with SIGSTOP: it keeps its ports and connections and answers nothing, as
	// a hung process does. Resume continues it.
	Pause() error
	Resume() error
}

// The names of the plane's parts.
const (
	KubeAPIServer         = "kube-apiserver"
	Etcd                  = "etcd"
	KubeControllerManager = "kube-controller-manager"
	SourceController      = "source-controller"
)

var _ Part = &Process{}

// Part finds a process of the plane by name: KubeAPIServer, Etcd, or a process the plane
// started (KubeControllerManager, SourceController, the Cluster API managers by their names,
// and any process started with StartProcess).
func (p *Plane) Part(name string) (Part, error) {
	if part, err := p.APIServer.Part(name); err == nil {
		return part, nil
	}
	p.mu.Lock()
	procs := slices.Clone(p.processes)
	p.mu.Unlock()
	if p.ClusterAPI != nil {
		procs = append(procs, p.ClusterAPI.Managers...)
	}
	var names []string
	for _, proc := range procs {
		if proc.Name == name {
			return proc, nil
		}
		names = append(names, proc.Name)
	}
	return nil, fmt.Errorf("plane: no part named %q (parts: %s, %s, %s)", name, KubeAPIServer, Etcd, strings.Join(names, ", "))
}

// Part returns kube-apiserver or etcd under process control. envtest starts and stops them;
// the data directories are the APIServer's own, so a restarted API server keeps its port,
// certificates and users, and a restarted etcd its data.
func (e *APIServer) Part(name string) (Part, error) {
	switch name {
	case KubeAPIServer:
		return &envtestPart{name: name, binary: e.apiServerBinary, stop: e.env.ControlPlane.APIServer.Stop, start: e.env.ControlPlane.APIServer.Start}, nil
	case Etcd:
		return &envtestPart{name: name, binary: e.etcdBinary, stop: e.env.ControlPlane.Etcd.Stop, start: e.env.ControlPlane.Etcd.Start}, nil
	}
	return nil, fmt.Errorf("plane: %q is not kube-apiserver or etcd", name)
}

// envtestPart is a process envtest runs: Stop and Start go through envtest, signals go to
// the process found among this process's children by its executable (the shim execs the real
// binary in place).
type envtestPart struct {
	name, binary string
	stop, start  func() error
}

// Stop asks envtest to stop the process (SIGTERM); a kube-apiserver draining its clients'
// watches can outlast envtest's stop timeout, and then it is killed, as the kubelet would.
func (e *envtestPart) Stop() error {
	if err := e.stop(); err != nil {
		if _, gone := e.pid(); gone != nil {
			return nil // it ended after all
		}
		return e.Kill()
	}
	return nil
}

func (e *envtestPart) Start() error  { return e.start() }
func (e *envtestPart) Pause() error  { return e.signalAndWait(syscall.SIGSTOP, true) }
func (e *envtestPart) Resume() error { return e.signalAndWait(syscall.SIGCONT, false) }

func (e *envtestPart) signalAndWait(sig syscall.Signal, stopped bool) error {
	pid, err := e.pid()
	if err != nil {
		return err
	}
	if err := syscall.Kill(pid, sig); err != nil {
		return err
	}
	return waitState(pid, stopped)
}

// Kill sends SIGKILL and then lets envtest see the process gone, so that Start works after.
func (e *envtestPart) Kill() error {
	if err := e.signal(syscall.SIGKILL); err != nil {
		return err
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := e.pid(); err != nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("plane: %s survived SIGKILL", e.name)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return e.stop() // envtest's bookkeeping: the process has exited
}

func (e *envtestPart) signal(sig syscall.Signal) error {
	pid, err := e.pid()
	if err != nil {
		return err
	}
	return syscall.Kill(pid, sig)
}

// pid finds the running process of the part among this process's descendants.
func (e *envtestPart) pid() (int, error) {
	procs, err := DescendantProcesses(os.Getpid())
	if err != nil {
		return 0, err
	}
	for _, proc := range procs {
		if strings.TrimSuffix(proc.Exe, " (deleted)") == e.binary && proc.State != "Z" {
			return proc.PID, nil
		}
	}
	return 0, errors.New("plane: " + e.name + " is not running")
}
