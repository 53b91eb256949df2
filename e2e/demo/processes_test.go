//go:build e2e

package demo

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcn-ssu/lkaas/internal/plane"
)

// planeProcessNames are the long-lived processes of the demo's plane, by the kernel's command
// names (cut at 15 characters), as docs/e2e.md lists them.
var planeProcessNames = []string{"etcd", "kube-apiserver", "kube-controller", "source-controll",
	"capi-core", "capi-kubeadm-bo", "capi-kubeadm-co", "capd"}

// shortLived says whether a process is one of the helpers the demo runs for a moment: the Git
// server serves each fetch and push through git processes.
func shortLived(p plane.ProcessInfo) bool {
	return p.Name == "git" || strings.HasPrefix(p.Name, "git-")
}

// planeSnapshot is every process the demo runs now. The long-lived ones must be exactly the
// plane's; short-lived helpers may come and go, and are kept so that they too are checked gone.
func planeSnapshot(t *testing.T, demoPID int) []plane.ProcessInfo {
	t.Helper()
	procs, err := plane.DescendantProcesses(demoPID)
	require.NoError(t, err)
	var longLived []string
	for _, p := range procs {
		if !shortLived(p) {
			longLived = append(longLived, p.Name)
		}
	}
	require.ElementsMatch(t, planeProcessNames, longLived, "the demo runs the plane's processes and no other long-lived one: %v", procs)
	return procs
}

// assertAllGone checks that every process of the snapshot has ended within grace (the kernel
// ends them at once when their parent is killed; an orderly teardown has already ended them).
func assertAllGone(t *testing.T, snapshot []plane.ProcessInfo, grace time.Duration) {
	t.Helper()
	deadline := time.Now().Add(grace)
	for {
		var running []string
		for _, p := range snapshot {
			if p.Running() {
				running = append(running, p.String())
			}
		}
		if len(running) == 0 {
			t.Logf("all %d processes of the demo are gone", len(snapshot))
			return
		}
		if time.Now().After(deadline) {
			assert.Empty(t, running, "processes of the demo still running after it ended")
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}
