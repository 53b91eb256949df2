package plane

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// holderEnv makes this test binary a holder: it starts an API server and etcd (through
// envtest) and a plane process (through StartProcess), prints their PIDs, and then waits to be
// ended the way the test under way chooses.
const holderEnv = "LKAAS_TESTENV_HOLDER"

func TestMain(m *testing.M) {
	if os.Getenv(holderEnv) != "" {
		hold()
	}
	os.Exit(m.Run())
}

func hold() {
	env, err := Start()
	if err != nil {
		fmt.Println("holder:", err)
		os.Exit(3)
	}
	sleeper, err := StartProcess(ProcessSpec{Name: "sleeper", Path: "sleep", Args: []string{"600"}, LogDir: os.TempDir()})
	if err != nil {
		fmt.Println("holder:", err)
		os.Exit(3)
	}
	_ = env
	procs, err := DescendantProcesses(os.Getpid())
	if err != nil {
		fmt.Println("holder:", err)
		os.Exit(3)
	}
	var pids []string
	for _, p := range procs {
		pids = append(pids, strconv.Itoa(p.PID))
	}
	fmt.Printf("holding %d: %s\n", sleeper.PID(), strings.Join(pids, " "))
	// m.Run runs TestHolderWaits (chosen by -test.run), which waits for the ending.
}

// TestHolderWaits is the holder's test: it waits until the process is ended from outside or
// by the test binary's own timeout. Outside a holder it does nothing.
func TestHolderWaits(t *testing.T) {
	if os.Getenv(holderEnv) == "" {
		t.Skip("only the holder process runs this")
	}
	select {}
}

// Issue 14: whatever ends a process that started a plane (SIGKILL, Ctrl-C, its test timeout),
// the API server, etcd and every process it started end with it.
func TestPlaneProcessesEndWithTheProcessThatStartedThem(t *testing.T) {
	if _, err := BuiltToolPath("kube-apiserver"); err != nil {
		t.Skip(err) // make test builds it first; this only helps a lone `go test` run
	}
	endings := []struct {
		name string
		args []string
		end  func(pid int) error
	}{
		{name: "SIGKILL", end: func(pid int) error { return syscall.Kill(pid, syscall.SIGKILL) }},
		{name: "Ctrl-C", end: func(pid int) error { return syscall.Kill(pid, syscall.SIGINT) }},
		{name: "SIGTERM", end: func(pid int) error { return syscall.Kill(pid, syscall.SIGTERM) }},
		// The test binary's own timeout panics once the holder's test has run that long.
		{name: "test timeout", args: []string{"-test.timeout=2s"}},
	}
	for _, ending := range endings {
		t.Run(ending.name, func(t *testing.T) {
			holder := exec.Command(os.Args[0], append([]string{"-test.run=^TestHolderWaits$"}, ending.args...)...)
			holder.Env = append(os.Environ(), holderEnv+"=1")
			stdout, err := holder.StdoutPipe()
			require.NoError(t, err)
			var stderr lockedBuffer
			holder.Stderr = &stderr
			require.NoError(t, holder.Start())
			exited := make(chan error, 1)
			t.Cleanup(func() {
				_ = holder.Process.Kill()
				if t.Failed() {
					t.Logf("the holder's standard error:\n%s", stderr.String())
				}
			})

			line := make(chan string, 1)
			go func() {
				scanner := bufio.NewScanner(stdout)
				for scanner.Scan() {
					if strings.HasPrefix(scanner.Text(), "holding") || strings.HasPrefix(scanner.Text(), "holder:") {
						line <- scanner.Text()
						break
					}
				}
				for scanner.Scan() { // drain, so the holder never blocks on a full pipe
				}
				exited <- holder.Wait()
			}()
			var held string
			select {
			case held = <-line:
			case err := <-exited:
				t.Fatalf("the holder ended (%v) before it started its plane", err)
			case <-time.After(3 * time.Minute):
				t.Fatal("the holder did not start its plane within 3 minutes")
			}
			require.True(t, strings.HasPrefix(held, "holding"), held)
			procs := heldProcesses(t, held)
			names := map[string]bool{}
			for _, p := range procs {
				names[p.Name] = true
			}
			for _, want := range []string{"kube-apiserver", "etcd", "sleep"} {
				require.True(t, names[want], "the holder runs %s: %v", want, procs)
			}

			if ending.end != nil {
				require.NoError(t, ending.end(holder.Process.Pid))
			}
			select {
			case <-exited:
			case <-time.After(time.Minute):
				t.Fatal("the holder did not end within a minute")
			}
			// The kernel signals them at once; give them a moment to be gone.
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			require.NoError(t, waitContext(ctx, 30*time.Second, func() (bool, error) {
				for _, p := range procs {
					if p.Running() {
						return false, nil
					}
				}
				return true, nil
			}), "every process of the holder is gone: %v", stillRunning(procs))
		})
	}
}

// heldProcesses reads the holder's line "holding <sleeper>: <pid> <pid> …".
func heldProcesses(t *testing.T, line string) []ProcessInfo {
	t.Helper()
	_, list, ok := strings.Cut(line, ":")
	require.True(t, ok, line)
	var procs []ProcessInfo
	for _, field := range strings.Fields(list) {
		pid, err := strconv.Atoi(field)
		require.NoError(t, err, line)
		info, err := ReadProcess(pid)
		if err != nil {
			continue // a short-lived helper that has already ended
		}
		procs = append(procs, info)
	}
	return procs
}

func stillRunning(procs []ProcessInfo) []ProcessInfo {
	var out []ProcessInfo
	for _, p := range procs {
		if p.Running() {
			out = append(out, p)
		}
	}
	return out
}

// The parent-death shim hands its arguments and environment to the real binary, minus its own
// variables.
func TestBoundShimRunsTheRealBinary(t *testing.T) {
	shims, remove, err := boundShims(map[string]string{"printenv": "/usr/bin/env"})
	require.NoError(t, err)
	defer remove()
	out, err := exec.Command(shims["printenv"]).Output()
	require.NoError(t, err)
	assert.NotContains(t, string(out), boundExecEnv)
	assert.Contains(t, string(out), "PATH=")

	// Started by another process than the one that wrote it (here a shell that forks), it
	// refuses: that process could end without the kernel telling the child.
	out, err = exec.Command("sh", "-c", shims["printenv"]+"; exit $?").CombinedOutput()
	require.Error(t, err)
	assert.Contains(t, string(out), "is not the process that started the plane")
}

// lockedBuffer collects the holder's standard error while it is written.
type lockedBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
