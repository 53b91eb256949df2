package plane

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

// RepoRoot is the root of the L-KaaS source tree: $LKAAS_REPO_ROOT, else the nearest
// directory above the working directory (tests run in their package's directory, `make demo`
// in the root) or above this source file that holds hack/tools.sh.
func RepoRoot() (string, error) {
	if root := os.Getenv("LKAAS_REPO_ROOT"); root != "" {
		return root, nil
	}
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		starts = append(starts, filepath.Dir(file))
	}
	for _, start := range starts {
		if root, ok := findUp(start, filepath.Join("hack", "tools.sh")); ok {
			return root, nil
		}
	}
	return "", errors.New("plane: cannot find the L-KaaS source tree (hack/tools.sh); run from inside it or set LKAAS_REPO_ROOT")
}

func findUp(dir, marker string) (string, bool) {
	for {
		if _, err := os.Stat(filepath.Join(dir, marker)); err == nil {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// ToolPath returns the cached binary of a tool that hack/tools.sh builds (kube-apiserver,
// etcd, kube-controller-manager, …), building it first when the cache lacks it. The first
// build of kube-apiserver takes minutes; `make tools` does it ahead of the tests.
func ToolPath(name string) (string, error) {
	script, path, err := cachedTool(name)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	var stderr bytes.Buffer
	build := exec.Command(script, name)
	build.Stderr = &stderr
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("plane: building %s: %w\n%s", name, err, stderr.String())
	}
	return path, nil
}

// BuiltToolPath returns the cached binary of a tool that hack/tools.sh builds, without
// building it: the tools of the full plane take minutes to build, longer than a test should
// wait, so `make e2e-tools` builds them ahead.
func BuiltToolPath(name string) (string, error) {
	_, path, err := cachedTool(name)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("plane: %s is not built (no %s): run `make e2e-tools` first (it builds the plane's tools once, in minutes)", name, path)
	}
	return path, nil
}

// cachedTool asks hack/tools.sh where a tool's binary lives in the cache (built or not).
func cachedTool(name string) (script, path string, err error) {
	root, err := RepoRoot()
	if err != nil {
		return "", "", err
	}
	script = filepath.Join(root, "hack", "tools.sh")
	out, err := exec.Command(script, "--path", name).Output()
	if err != nil {
		return "", "", fmt.Errorf("plane: %s --path %s: %w", script, name, err)
	}
	return script, strings.TrimSpace(string(out)), nil
}
