package plane

import (
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The report counts this process and a child it started, each with a plausible peak.
func TestPlaneMemoryCountsThisProcessAndItsChildren(t *testing.T) {
	child := exec.Command("sleep", "30")
	require.NoError(t, child.Start())
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })

	report, err := PlaneMemory()
	require.NoError(t, err)
	pids := map[int]ProcessMemory{}
	for _, p := range report.Processes {
		pids[p.PID] = p
	}
	require.Contains(t, pids, os.Getpid())
	require.Contains(t, pids, child.Process.Pid)
	assert.Equal(t, "sleep", pids[child.Process.Pid].Name)
	assert.Greater(t, pids[os.Getpid()].Peak, int64(1<<20), "a Go test binary peaks above 1 MiB")
	assert.GreaterOrEqual(t, report.SumOfPeaks, pids[os.Getpid()].Peak+pids[child.Process.Pid].Peak, "the sum counts both")
	assert.Contains(t, report.String(), "total")
}
