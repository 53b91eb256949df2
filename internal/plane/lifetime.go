package plane

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// The plane's processes must never outlive the process that started them, however it ends:
// a return, Ctrl-C, a test's timeout, or SIGKILL. Each is started with a parent-death signal,
// so the kernel kills it as soon as its parent is gone, whatever the parent did or did not
// get to do. Stop remains the orderly way; this is the guarantee behind it.
//
// The kernel sends the signal when the thread that forked the child ends, not only the
// process. Go ends an OS thread only when a goroutine locked to it exits, and nothing here
// starts processes from such a goroutine.

// boundToParent makes a child its own process group leader (Stop ends what it forks too) and
// has the kernel kill it when its parent dies.
func boundToParent() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// envtest starts kube-apiserver and etcd itself, with no way to set the child's attributes, so
// it is given a shim in their place: a shell script that runs this very executable with
// boundExecEnv naming the real binary; this package's init then asks for the parent-death
// signal and execs the real binary in the same process.
const (
	boundExecEnv   = "LKAAS_EXEC_BOUND_TO_PARENT"
	boundParentEnv = "LKAAS_EXEC_BOUND_PARENT"
)

func init() {
	if target := os.Getenv(boundExecEnv); target != "" {
		os.Exit(execBoundToParent(target))
	}
}

// execBoundToParent replaces this process with target, keeping the arguments, after asking
// the kernel for SIGKILL when the parent dies. It returns only on failure.
func execBoundToParent(target string) int {
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0, 0, 0); err != nil {
		fmt.Fprintf(os.Stderr, "plane: parent-death signal for %s: %v\n", target, err)
		return 1
	}
	// The parent may have died before the signal was asked for; then nobody would send it.
	if want := os.Getenv(boundParentEnv); want != strconv.Itoa(os.Getppid()) {
		fmt.Fprintf(os.Stderr, "plane: not starting %s: its parent (pid %d) is not the process that started the plane (pid %s), which may be gone\n",
			target, os.Getppid(), want)
		return 1
	}
	env := make([]string, 0, len(os.Environ()))
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, boundExecEnv+"=") && !strings.HasPrefix(kv, boundParentEnv+"=") {
			env = append(env, kv)
		}
	}
	err := syscall.Exec(target, append([]string{target}, os.Args[1:]...), env)
	fmt.Fprintf(os.Stderr, "plane: exec %s: %v\n", target, err)
	return 1
}

// boundShims writes, for each tool, a shim that envtest can run in its place (see
// boundExecEnv), in a directory of its own under the tool cache (which allows executables,
// where /tmp may not). remove deletes the directory.
func boundShims(tools map[string]string) (shims map[string]string, remove func(), err error) {
	self, err := os.Executable()
	if err != nil {
		return nil, nil, err
	}
	root, err := shimRoot()
	if err != nil {
		return nil, nil, err
	}
	removeStaleShims(root)
	dir, err := os.MkdirTemp(root, fmt.Sprintf("%d-", os.Getpid()))
	if err != nil {
		return nil, nil, err
	}
	remove = func() { _ = os.RemoveAll(dir) }
	shims = map[string]string{}
	for name, target := range tools {
		script := fmt.Sprintf("#!/bin/sh\n# %s, killed by the kernel when the process that started it ends.\n%s=%s %s=%d exec %s \"$@\"\n",
			name, boundExecEnv, shellQuote(target), boundParentEnv, os.Getpid(), shellQuote(self))
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(script), 0o700); err != nil {
			remove()
			return nil, nil, err
		}
		shims[name] = path
	}
	return shims, remove, nil
}

func shimRoot() (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	root := filepath.Join(cache, "lkaas", "run")
	return root, os.MkdirAll(root, 0o700)
}

// removeStaleShims deletes the shim directories of processes that are gone (a killed test
// binary cannot remove its own).
func removeStaleShims(root string) {
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		pidText, _, _ := strings.Cut(e.Name(), "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil {
			continue
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); errors.Is(err, os.ErrNotExist) {
			_ = os.RemoveAll(filepath.Join(root, e.Name()))
		}
	}
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
