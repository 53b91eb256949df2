//go:build e2e

package demo

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcn-ssu/lkaas/internal/testenv"
)

// Issue 14: however the demo ends, every process of its plane ends with it. The orderly
// endings (Ctrl-C, also with the output piped into a program that is gone; SIGTERM; SIGHUP
// when the terminal closes) tear down and say so in demo.log; SIGKILL is left to the kernel.
// A second demo started beside a running one says what is in the way instead of failing on a
// busy port.
func TestDemoEndingsLeaveNoProcessBehind(t *testing.T) {
	endings := []struct {
		name    string
		end     func(d *planeDemo) error
		orderly bool
		// secondDemo starts another demo while this one runs, which must refuse.
		secondDemo bool
	}{
		{
			name: "Ctrl-C with the output piped into a program that is gone",
			end: func(d *planeDemo) error {
				d.closeReader() // as `lkaas demo | tee demo.log` when Ctrl-C ends tee first
				return syscall.Kill(-d.cmd.Process.Pid, syscall.SIGINT)
			},
			orderly:    true,
			secondDemo: true,
		},
		{name: "SIGTERM", end: func(d *planeDemo) error { return d.cmd.Process.Signal(syscall.SIGTERM) }, orderly: true},
		{name: "SIGHUP, the terminal closed", end: func(d *planeDemo) error { return d.cmd.Process.Signal(syscall.SIGHUP) }, orderly: true},
		{name: "SIGKILL", end: func(d *planeDemo) error { return d.cmd.Process.Kill() }},
	}
	for _, ending := range endings {
		t.Run(ending.name, func(t *testing.T) {
			d := startPlaneDemo(t)
			snapshot := planeSnapshot(t, d.cmd.Process.Pid)

			if ending.secondDemo {
				second := exec.Command(lkaasBinary, "demo", "--plane-only", "--state-dir", t.TempDir())
				out, err := second.CombinedOutput()
				require.Error(t, err, "a second demo beside a running one refuses to start:\n%s", out)
				assert.Contains(t, string(out), "another management plane is running: capd")
				assert.Regexp(t, `kill \d+`, string(out), "it says what to do")
			}

			require.NoError(t, ending.end(d))
			select {
			case err := <-d.exited:
				if ending.orderly {
					require.NoError(t, err, "the demo exits 0 after an orderly ending")
				}
			case <-time.After(2 * time.Minute):
				t.Fatal("the demo did not end within 2 minutes")
			}
			if ending.orderly {
				shown, err := os.ReadFile(filepath.Join(d.state, "demo.log"))
				require.NoError(t, err)
				assert.Contains(t, string(shown), "==> every process stopped", "the teardown ran to its end")
				assertAllGone(t, snapshot, 0)
				return
			}
			assertAllGone(t, snapshot, 30*time.Second)
		})
	}
}

// planeDemo is `lkaas demo --plane-only` with its output in a pipe the test reads.
type planeDemo struct {
	cmd    *exec.Cmd
	state  string
	reader *os.File
	shown  testenv.Output
	exited chan error
}

func startPlaneDemo(t *testing.T) *planeDemo {
	t.Helper()
	d := &planeDemo{state: t.TempDir(), exited: make(chan error, 1)}
	r, w, err := os.Pipe()
	require.NoError(t, err)
	d.reader = r
	d.cmd = exec.Command(lkaasBinary, "demo", "--plane-only", "--state-dir", d.state)
	d.cmd.Stdout, d.cmd.Stderr = w, w
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // a terminal's foreground job
	require.NoError(t, d.cmd.Start())
	_ = w.Close()
	go func() { _, _ = io.Copy(&d.shown, r) }()
	go func() { d.exited <- d.cmd.Wait() }()
	t.Cleanup(func() {
		_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
		_ = r.Close()
		if t.Failed() {
			t.Logf("the demo showed:\n%s", d.shown.String())
		}
	})

	deadline := time.After(5 * time.Minute)
	for !strings.Contains(d.shown.String(), "The management plane is up") {
		select {
		case err := <-d.exited:
			t.Fatalf("the demo ended (%v) before its plane was up:\n%s", err, d.shown.String())
		case <-deadline:
			t.Fatalf("the demo's plane was not up within 5 minutes:\n%s", d.shown.String())
		case <-time.After(200 * time.Millisecond):
		}
	}
	return d
}

// closeReader closes the only read end of the demo's output: its next write fails.
func (d *planeDemo) closeReader() {
	err := d.reader.Close()
	if err != nil && !errors.Is(err, os.ErrClosed) {
		panic(err)
	}
}
