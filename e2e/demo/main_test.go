//go:build e2e

package demo

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/dcn-ssu/lkaas/internal/plane"
)

// lkaasBinary is the lkaas binary the tests run as a user would, built once for the package.
var lkaasBinary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lkaas-demo-test-")
	if err == nil {
		lkaasBinary = filepath.Join(dir, "lkaas")
		err = buildLkaas(lkaasBinary)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

func buildLkaas(bin string) error {
	root, err := plane.RepoRoot()
	if err != nil {
		return err
	}
	build := exec.Command("go", "build", "-o", bin, "./cmd/lkaas")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("building lkaas: %w\n%s", err, out)
	}
	return nil
}
