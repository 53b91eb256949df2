package testenv

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
// to a log file, and Stop ends it (and anything it started) by process group.
type Process struct {
	Name    string
	LogPath string

	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
	err  error

	mu      sync.Mutex
	waiters []*lineWaiter
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
}

// StartProcess starts spec's binary; the caller waits for readiness (WaitForLog, WaitForHTTP)
// and calls Stop, also when a test fails.
func StartProcess(spec ProcessSpec) (*Process, error) {
	if err := os.MkdirAll(spec.LogDir, 0o755); err != nil {
		return nil, err
	}
	logPath := filepath.Join(spec.LogDir, spec.Name+".log")
	log, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	p := &Process{Name: spec.Name, LogPath: logPath, log: log, done: make(chan struct{})}
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
		return nil, err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("starting %s: %w", spec.Name, err)
	}
	p.cmd = cmd
	go p.copyLog(out)
	return p, nil
}

// copyLog writes the output to the log file and wakes those waiting for a line.
func (p *Process) copyLog(out io.Reader) {
	defer close(p.done)
	scanner := bufio.NewScanner(out)
	scanner.Buffer(make([]byte, 64*1024), 1024*1024)
	for scanner.Scan() {
		line := scanner.Text()
		_, _ = p.log.WriteString(line + "\n")
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
	p.err = p.cmd.Wait()
	_ = p.log.Close()
}

// WaitForLog waits until the process prints a line containing every one of parts, it exits,
// or timeout passes. Register the wait before the line can come: call it right after
// StartProcess.
func (p *Process) WaitForLog(timeout time.Duration, parts ...string) error {
	w := &lineWaiter{parts: parts, found: make(chan struct{})}
	p.mu.Lock()
	p.waiters = append(p.waiters, w)
	p.mu.Unlock()
	defer p.forget(w)
	// The line may already be in the log.
	if data, err := os.ReadFile(p.LogPath); err == nil {
		for line := range strings.Lines(string(data)) {
			if containsAll(line, parts) {
				return nil
			}
		}
	}
	select {
	case <-w.found:
		return nil
	case <-p.done:
		return fmt.Errorf("%s exited before logging a line with %q (%v); see %s:\n%s", p.Name, parts, p.err, p.LogPath, p.Tail(20))
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
	deadline := time.Now().Add(timeout)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = conn.Close()
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before listening on %s (%v); see %s:\n%s", p.Name, addr, p.err, p.LogPath, p.Tail(20))
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

// PID of the process.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop ends the process group: SIGTERM, then SIGKILL after grace.
func (p *Process) Stop(grace time.Duration) error {
	if p == nil || p.cmd == nil || p.Exited() {
		return nil
	}
	pgid := -p.cmd.Process.Pid
	_ = syscall.Kill(pgid, syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
	}
	_ = syscall.Kill(pgid, syscall.SIGKILL)
	select {
	case <-p.done:
		return nil
	case <-time.After(10 * time.Second):
		return errors.New(p.Name + " survived SIGKILL")
	}
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
