package demo

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/dcn-ssu/lkaas/internal/plane"
)

// However the demo ends, its plane ends with it. An orderly ending (Ctrl-C, SIGTERM, SIGHUP
// when the terminal closes) tears everything down in order; anything harder (SIGKILL, a second
// Ctrl-C) is left to the kernel, which kills each process of the plane when the demo is gone
// (testenv starts them with a parent-death signal).

// SignalContext is cancelled by Ctrl-C, SIGTERM or SIGHUP, which start the orderly teardown.
// A second such signal exits at once. A write to a closed pipe (`lkaas demo | tee`, with tee
// gone) returns an error instead of killing the demo half way through its teardown.
func SignalContext() context.Context {
	// Asking for SIGPIPE is what makes Go return EPIPE on standard output and error instead
	// of exiting; nothing reads the channel.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)

	ctx, cancel := context.WithCancel(context.Background())
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		<-signals
		cancel()
		<-signals
		os.Exit(130)
	}()
	return ctx
}

// screen is what the demo shows: it writes to the terminal until a write there fails (the
// reader of a pipe is gone, the terminal closed) and to the demo's log file throughout, and it
// never fails, so nothing the demo shows can stop its teardown.
type screen struct {
	mu       sync.Mutex
	terminal io.Writer
	lost     bool // the terminal refused a write: write there no more
	log      io.Writer
}

func (s *screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.lost {
		if _, err := s.terminal.Write(p); err != nil {
			s.lost = true
		}
	}
	if s.log != nil {
		_, _ = s.log.Write(p)
	}
	return len(p), nil
}

// checkNoOtherPlane refuses to start beside the processes of another plane that would collide
// with this one: Cluster API's in-memory backend (CAPD) listens on fixed ports, one per
// machine, and a process left behind by an earlier run only holds memory and ports.
func checkNoOtherPlane() error {
	procs, err := plane.RunningPlaneProcesses()
	if err != nil {
		return nil // cannot tell (no /proc, no tool cache): let the start say what is wrong
	}
	parentOf := func(pid int) string {
		if info, err := plane.ReadProcess(pid); err == nil {
			return info.String()
		}
		return fmt.Sprintf("pid %d", pid)
	}
	if problems := otherPlaneProblems(procs, parentOf); problems != "" {
		return fmt.Errorf("demo: not starting:\n%s", problems)
	}
	return nil
}

// otherPlaneProblems says which of the running plane processes stand in the way and what to
// do about them, or "" when none does.
func otherPlaneProblems(procs []plane.ProcessInfo, parentOf func(pid int) string) string {
	var leftBehind, otherPlane []plane.ProcessInfo
	for _, p := range procs {
		switch {
		case p.PPID == 1:
			leftBehind = append(leftBehind, p)
		case p.Name == "capd":
			otherPlane = append(otherPlane, p)
		}
	}
	var lines []string
	if len(leftBehind) > 0 {
		lines = append(lines,
			"processes of an earlier demo or test run are still running, with no parent: "+names(leftBehind),
			"  stop them with:  kill "+pids(leftBehind))
	}
	for _, p := range otherPlane {
		lines = append(lines,
			fmt.Sprintf("another management plane is running: %s, started by %s; its Cluster API in-memory backend holds the ports this one needs", p, parentOf(p.PPID)),
			fmt.Sprintf("  end that demo or test run (Ctrl-C in its terminal, or:  kill %d), then start this one again", p.PPID))
	}
	return strings.Join(lines, "\n")
}

func names(procs []plane.ProcessInfo) string {
	parts := make([]string, len(procs))
	for i, p := range procs {
		parts[i] = p.String()
	}
	return strings.Join(parts, ", ")
}

func pids(procs []plane.ProcessInfo) string {
	parts := make([]string, len(procs))
	for i, p := range procs {
		parts[i] = fmt.Sprint(p.PID)
	}
	return strings.Join(parts, " ")
}
