package plane

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Process is a server of the management plane started as a child process: its output goes
// to a log file, and Stop ends it (and anything it started) by process group. Process control
// (Kill, Pause, Resume, Start again) lets a fault be injected into it at a chosen moment; a
// restart appends to the same log and waits for the same readiness as the first start.
type Process struct {
	Name    string
	LogPath string

	spec ProcessSpec

	mu      sync.Mutex
	run     *processRun // the current (or last) run
	waiters []*lineWaiter
}

// processRun is one start of a Process.
type processRun struct {
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
	err  error
	// logFrom is where this run's lines begin in the log file.
	logFrom int64
}

type lineWaiter struct {
	parts []string // a line must contain every one
	found chan struct{}
}

// ProcessSpec says how to start a Process.
type ProcessSpec struct {
	Name string
	Path string
	Args []string
	// Env is added to the parent's environment.
	Env []string
	// Dir is the working directory; default the log directory.
	Dir string
	// LogDir holds <Name>.log.
	LogDir string
	// Ready, when set, is how a start knows the process works (a log line, a port, an HTTP
	// check); StartProcess and Start wait for it and stop the process when it fails.
	Ready func(*Process) error
	// StopGrace is the time between SIGTERM and SIGKILL on Stop; default 10 s.
	StopGrace time.Duration
}

// StartProcess starts spec's binary and, when spec.Ready is set, waits until it is ready. The
// caller calls Stop, also when a test fails.
func StartProcess(spec ProcessSpec) (*Process, error) {
	if err := os.MkdirAll(spec.LogDir, 0o755); err != nil {
		return nil, err
	}
	p := &Process{Name: spec.Name, LogPath: filepath.Join(spec.LogDir, spec.Name+".log"), spec: spec}
	if err := p.start(os.O_CREATE | os.O_TRUNC | os.O_WRONLY); err != nil {
		return nil, err
	}
	return p, nil
}

// Start runs the process again after it stopped or was killed, with the same flags, ports and
// environment, appending to its log, and waits until it is ready. It is an error while the
// process runs.
func (p *Process) Start() error {
	if !p.Exited() {
		return fmt.Errorf("%s is running (pid %d)", p.Name, p.PID())
	}
	return p.start(os.O_CREATE | os.O_APPEND | os.O_WRONLY)
}

func (p *Process) start(logFlags int) error {
	log, err := os.OpenFile(p.LogPath, logFlags, 0o644)
	if err != nil {
		return err
	}
	logFrom, _ := log.Seek(0, io.SeekEnd)
	spec := p.spec
	cmd := exec.Command(spec.Path, spec.Args...)
	cmd.Env = append(os.Environ(), spec.Env...)
	cmd.Dir = spec.Dir
	if cmd.Dir == "" {
		cmd.Dir = spec.LogDir
	}
	// Its own process group, so that Stop ends what it forks too; and it dies with this process.
	cmd.SysProcAttr = boundToParent()
	out, err := cmd.StdoutPipe()
	if err != nil {
		log.Close()
		return err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("starting %s: %w", spec.Name, err)
	}
	run := &processRun{cmd: cmd, log: log, done: make(chan struct{}), logFrom: logFrom}
	p.mu.Lock()
	p.run = run
	p.mu.Unlock()
	go p.copyLog(run, out)
	if spec.Ready != nil {
		if err := spec.Ready(p); err != nil {
			_ = p.Stop()
			return err
		}
	}
	return nil
}

// current returns the current run.
func (p *Process) current() *processRun {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.run
}

// copyLog writes the output to the log file and wakes those waiting for a line.
func (p *Process) copyLog(run *processRun, out io.Reader) {
	defer close(run.done)
	scanner := bufio.NewScanner(out)
	scanner.Buffer(make([]byte, 64*1024), 1024*1024)
	for scanner.Scan() {
		line := scanner.Text()
		_, _ = run.log.WriteString(line + "\n")
		p.mu.Lock()
		kept := p.waiters[:0]
		for _, w := range p.waiters {
			if containsAll(line, w.parts) {
				close(w.found)
				continue
			}
			kept = append(kept, w)
		}
		p.waiters = kept
		p.mu.Unlock()
	}
	run.err = run.cmd.Wait()
	_ = run.log.Close()
}

// WaitForLog waits until the current run prints a line containing every one of parts, it
// exits, or timeout passes. Register the wait before the line can come: call it right after
// the start (spec.Ready is called so).
func (p *Process) WaitForLog(timeout time.Duration, parts ...string) error {
	w := &lineWaiter{parts: parts, found: make(chan struct{})}
	p.mu.Lock()
	p.waiters = append(p.waiters, w)
	run := p.run
	p.mu.Unlock()
	defer p.forget(w)
	// The line may already be in this run's part of the log.
	if data, err := os.ReadFile(p.LogPath); err == nil && int64(len(data)) >= run.logFrom {
		for line := range strings.Lines(string(data[run.logFrom:])) {
			if containsAll(line, parts) {
				return nil
			}
		}
	}
	select {
	case <-w.found:
		return nil
	case <-run.done:
		return fmt.Errorf("%s exited before logging a line with %q (%v); see %s:\n%s", p.Name, parts, run.err, p.LogPath, p.Tail(20))
	case <-time.After(timeout):
		return fmt.Errorf("%s did not log a line with %q within %s; see %s:\n%s", p.Name, parts, timeout, p.LogPath, p.Tail(20))
	}
}

// forget drops a waiter that stopped waiting.
func (p *Process) forget(w *lineWaiter) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.waiters = slices.DeleteFunc(p.waiters, func(x *lineWaiter) bool { return x == w })
}

func containsAll(line string, parts []string) bool {
	for _, part := range parts {
		if !strings.Contains(line, part) {
			return false
		}
	}
	return true
}

// WaitForTCP waits until addr accepts connections.
func (p *Process) WaitForTCP(addr string, timeout time.Duration) error {
	run := p.current()
	deadline := time.Now().Add(timeout)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = conn.Close()
			return nil
		}
		select {
		case <-run.done:
			return fmt.Errorf("%s exited before listening on %s (%v); see %s:\n%s", p.Name, addr, run.err, p.LogPath, p.Tail(20))
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s does not listen on %s after %s; see %s:\n%s", p.Name, addr, timeout, p.LogPath, p.Tail(20))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Tail returns the last n lines of the log.
func (p *Process) Tail(n int) string {
	data, _ := os.ReadFile(p.LogPath)
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// PID of the current run.
func (p *Process) PID() int { return p.current().cmd.Process.Pid }

// Exited reports whether the current run has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.current().done:
		return true
	default:
		return false
	}
}

// Stop ends the process group in order: SIGTERM, then SIGKILL after the spec's grace.
func (p *Process) Stop() error {
	grace := p.spec.StopGrace
	if grace == 0 {
		grace = 10 * time.Second
	}
	return p.StopWithin(grace)
}

// StopWithin ends the process group: SIGTERM, then SIGKILL after grace.
func (p *Process) StopWithin(grace time.Duration) error {
	if p == nil || p.current() == nil || p.Exited() {
		return nil
	}
	run := p.current()
	pgid := -run.cmd.Process.Pid
	_ = syscall.Kill(pgid, syscall.SIGCONT) // a paused process cannot act on SIGTERM
	_ = syscall.Kill(pgid, syscall.SIGTERM)
	select {
	case <-run.done:
		return nil
	case <-time.After(grace):
	}
	return p.Kill()
}

// Kill ends the process group at once with SIGKILL, as the kernel's OOM killer or a node
// failure would: nothing of it gets to finish what it was doing.
func (p *Process) Kill() error {
	if p == nil || p.current() == nil || p.Exited() {
		return nil
	}
	run := p.current()
	_ = syscall.Kill(-run.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-run.done:
		return nil
	case <-time.After(10 * time.Second):
		return errors.New(p.Name + " survived SIGKILL")
	}
}

// Pause stops the process group with SIGSTOP and returns once it is stopped: it keeps its
// connections and ports but answers nothing, as a hung process does. Resume continues it.
func (p *Process) Pause() error {
	if err := p.signalGroup(syscall.SIGSTOP); err != nil {
		return err
	}
	return waitState(p.PID(), true)
}

// Resume continues a paused process group.
func (p *Process) Resume() error {
	if err := p.signalGroup(syscall.SIGCONT); err != nil {
		return err
	}
	return waitState(p.PID(), false)
}

// waitState waits until the kernel shows pid stopped (State "T") or not: signals are
// delivered asynchronously.
func waitState(pid int, stopped bool) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		info, err := ReadProcess(pid)
		if err != nil {
			return err
		}
		if (info.State == "T") == stopped {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pid %d: state %s after 10 s (want stopped=%t)", pid, info.State, stopped)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (p *Process) signalGroup(sig syscall.Signal) error {
	if p.Exited() {
		return fmt.Errorf("%s is not running", p.Name)
	}
	return syscall.Kill(-p.PID(), sig)
}

// FreePort picks a free port on 127.0.0.1 for a server that takes its port as a flag, never
// one it handed out before in this process (a port picked but not yet listened on looks free).
// It stays below the kernel's range for outgoing connections (32768 and up), where a port
// that was free a moment ago is soon taken, and below CAPD's in-memory servers (19000 and up).
func FreePort() (int, error) {
	handedOut.Lock()
	defer handedOut.Unlock()
	for range 100 {
		port := 10000 + rand.IntN(9000)
		if handedOut.ports[port] {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		_ = l.Close()
		handedOut.ports[port] = true
		return port, nil
	}
	return 0, errors.New("no free port between 10000 and 19000")
}

var handedOut = struct {
	sync.Mutex
	ports map[int]bool
}{ports: map[int]bool{}}

// waitContext is a helper for bounded polls.
func waitContext(ctx context.Context, timeout time.Duration, poll func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		ok, err := poll()
		if ok || err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
