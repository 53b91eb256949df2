package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// RepoRoot is the root of the L-KaaS source tree, found from this file's location so that
// tests in any package (and `go run` of hack programs) agree on it.
func RepoRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("testenv: cannot locate the source tree")
	}
	dir := filepath.Dir(file)
	for {
		if _, err := os.Stat(filepath.Join(dir, "hack", "tools.sh")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("testenv: no hack/tools.sh above %s", filepath.Dir(file))
		}
		dir = parent
	}
}

// ToolPath returns the cached binary of a tool that hack/tools.sh builds (kube-apiserver,
// etcd, kube-controller-manager, …), building it first when the cache lacks it. The first
// build of kube-apiserver takes minutes; `make tools` does it ahead of the tests.
func ToolPath(name string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	script := filepath.Join(root, "hack", "tools.sh")
	out, err := exec.Command(script, "--path", name).Output()
	if err != nil {
		return "", fmt.Errorf("testenv: %s --path %s: %w", script, name, err)
	}
	path := strings.TrimSpace(string(out))
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	var stderr bytes.Buffer
	build := exec.Command(script, name)
	build.Stderr = &stderr
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("testenv: building %s: %w\n%s", name, err, stderr.String())
	}
	return path, nil
}
