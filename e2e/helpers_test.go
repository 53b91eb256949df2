//go:build e2e

package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/dcn-ssu/lkaas/internal/testenv"
)

// wait polls cond until it holds or timeout passes; then the test fails with cond's last
// account of what it saw and where the plane's logs are.
func wait(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	testenv.Eventually(t, timeout, what, mgmt.LogDir, cond)
}

// gitCLI runs the git command line in dir ("" for the working directory) and returns its
// trimmed output.
func gitCLI(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := gitCommand(dir, args...)
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// gitCommand runs the git command line in dir and returns its trimmed output.
func gitCommand(dir string, args ...string) (string, error) { return testenv.Git(dir, args...) }
