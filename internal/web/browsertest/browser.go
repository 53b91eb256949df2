// Package browsertest drives headless Chromium for tests of the status page: internal/web's
// own browser test and the demo's end-to-end test. Only tests import it.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// Chromium finds Debian's Chromium; hack/chromium.sh installs it (make test-browser runs it).
// Missing, the test says so and skips, or fails where it is required (CI, or
// LKAAS_REQUIRE_BROWSER set: .ci/run installs it first).
func Chromium(t testing.TB) string {
	t.Helper()
	path, ok := Find()
	if ok {
		return path
	}
	msg := "Chromium is missing: run hack/chromium.sh (apt-get install chromium) or set LKAAS_CHROMIUM"
	if Required() {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// Find looks for Chromium without failing: for tests that fall back to plain HTTP.
func Find() (string, bool) {
	for _, name := range []string{os.Getenv("LKAAS_CHROMIUM"), "chromium", "chromium-browser"} {
		if name == "" {
			continue
		}
		if path, err := exec.LookPath(name); err == nil {
			return path, true
		}
	}
	return "", false
}

// Required is true where a missing browser is a failure, not a skip.
func Required() bool {
	return os.Getenv("CI") != "" || os.Getenv("LKAAS_REQUIRE_BROWSER") != ""
}

// New starts headless Chromium at path (with a width×height window) and returns a context
// for chromedp actions, from which callers may derive timeouts; the browser ends with the test.
func New(t testing.TB, path string, width, height int) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:0:0],
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// Start the browser on this long-lived context: chromedp ties the browser to the context
	// of the first action, so a caller's per-step timeout would otherwise close it.
	require.NoError(t, chromedp.Do(ctx), "starting Chromium at %s", path)
	return ctx
}

// ScreenshotDir is where browser tests leave their screenshots (LKAAS_SCREENSHOTS, or a
// fixed directory under the temp dir so they outlive the test).
func ScreenshotDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("LKAAS_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "lkaas-screenshots")
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	return dir
}
