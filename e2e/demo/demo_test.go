//go:build e2e

// Package demo runs `lkaas demo` as a user would, in its own package: the demo brings up a
// management plane of its own, and two CAPD in-memory backends cannot share this machine's
// ports, so `make e2e` runs the e2e packages one at a time.
package demo

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcn-ssu/lkaas/internal/testenv"
)

// Issue 8: `make demo` reaches a Ready logical cluster; the next steps it prints work as
// printed (status from the cluster, an upgrade pushed with git, the status branch); Ctrl-C
// tears everything down and leaves no process behind. Issue 21: the status page it prints
// shows the mec-cluster's four members come up and a wave roll (statuspage_test.go).
func TestDemoReachesReadyAndCtrlCLeavesNothing(t *testing.T) {
	state := t.TempDir()
	var shown testenv.Output
	demo := exec.Command(lkaasBinary, "demo", "--state-dir", state)
	demo.Stdout, demo.Stderr = &shown, &shown
	// Its own process group, as a terminal's foreground job: Ctrl-C signals the whole group.
	demo.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, demo.Start())
	exited := make(chan error, 1)
	go func() { exited <- demo.Wait() }()
	t.Cleanup(func() {
		_ = syscall.Kill(-demo.Process.Pid, syscall.SIGKILL)
		if t.Failed() {
			t.Logf("the demo showed:\n%s", shown.String())
		}
	})
	begin := time.Now()

	waitFor := func(timeout time.Duration, what string, cond func(string) bool) {
		t.Helper()
		deadline := time.Now().Add(timeout)
		for !cond(shown.String()) {
			select {
			case err := <-exited:
				t.Fatalf("the demo ended (%v) before %s", err, what)
			case <-time.After(time.Second):
			}
			if time.Now().After(deadline) {
				t.Fatalf("no %s within %s", what, timeout)
			}
		}
		t.Logf("%-60s %5.0fs", what, time.Since(begin).Seconds())
	}
	waitFor(15*time.Minute, "Ready logical cluster", func(s string) bool {
		return strings.Contains(s, "logical cluster edge/mec-cluster Ready")
	})
	text := shown.String()
	assert.Regexp(t, `(?m)^  central-cluster +0 +Ready +v1\.34\.1 +registered edge/central-cluster$`, text)
	kubeconfig := regexp.MustCompile(`export KUBECONFIG=(\S+)`).FindStringSubmatch(text)
	require.Len(t, kubeconfig, 2, "the demo prints the KUBECONFIG")

	// The printed status page draws the mec-cluster come up.
	page := openStatusPage(t, text)
	page.checkReady("v1.34.1")

	// The printed `lkaas status`, against the plane.
	status := printedCommand(t, text, "status edge -n edge")
	tree := shell(t, t.TempDir(), []string{"KUBECONFIG=" + kubeconfig[1]}, status)
	for _, member := range []string{"central-cluster", "seoul-edge-cluster", "busan-edge-cluster", "gwangju-edge-cluster"} {
		assert.Contains(t, tree, member)
	}

	// The printed upgrade, literally: clone, edit, commit, push.
	work := t.TempDir()
	upgrade := printedBlock(t, text, "Upgrade the members in waves")
	shell(t, work, nil, strings.Join(upgrade, "\n"))
	waitFor(3*time.Minute, "the centre upgrading after the push", func(s string) bool {
		return regexp.MustCompile(`(?m)^  central-cluster +0 +Upgrading `).MatchString(s)
	})
	// And roll: a wave in flight, live in the open browser.
	page.checkRolling("v1.34.1", "v1.35.0")
	page.checkHistory()
	t.Logf("%-60s %5.0fs", "the status page showed the rollout", time.Since(begin).Seconds())

	// The printed look at the status branch, from the clone.
	history := shell(t, filepath.Join(work, "mec"), nil, printedCommand(t, text, "git fetch origin lkaas/status"))
	assert.Contains(t, history, "lkaas: status of Fleet edge/edge")

	// Ctrl-C in the middle of the rollout.
	snapshot := planeSnapshot(t, demo.Process.Pid)
	require.NoError(t, syscall.Kill(-demo.Process.Pid, syscall.SIGINT))
	select {
	case err := <-exited:
		require.NoError(t, err, "the demo exits 0 after Ctrl-C")
	case <-time.After(2 * time.Minute):
		t.Fatal("the demo did not end within 2 minutes of Ctrl-C")
	}
	assert.Contains(t, shown.String(), "==> every process stopped")
	assertAllGone(t, snapshot, 0)
}

// printedCommand is the line of the demo's next steps that contains part, without its
// comment.
func printedCommand(t *testing.T, text, part string) string {
	t.Helper()
	for line := range strings.Lines(text) {
		if strings.Contains(line, part) {
			cmd, _, _ := strings.Cut(line, "#")
			return strings.TrimSpace(cmd)
		}
	}
	t.Fatalf("the demo printed no command with %q", part)
	return ""
}

// printedBlock is the commands under a heading of the next steps, up to the blank line.
func printedBlock(t *testing.T, text, heading string) []string {
	t.Helper()
	scanner := bufio.NewScanner(strings.NewReader(text))
	var block []string
	in := false
	for scanner.Scan() {
		line := scanner.Text()
		switch {
		case strings.HasPrefix(line, heading):
			in = true
		case in && strings.TrimSpace(line) == "":
			return block
		case in && !strings.HasPrefix(strings.TrimSpace(line), "#"):
			block = append(block, strings.TrimSpace(line))
		}
	}
	t.Fatalf("the demo printed no block %q", heading)
	return nil
}

// shell runs a command line with bash in dir, as a user would type it.
func shell(t *testing.T, dir string, env []string, line string) string {
	t.Helper()
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", line)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Demo User", "GIT_AUTHOR_EMAIL=demo@example.com",
		"GIT_COMMITTER_NAME=Demo User", "GIT_COMMITTER_EMAIL=demo@example.com", "GIT_TERMINAL_PROMPT=0")
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s\n%s", line, out)
	return string(out)
}
