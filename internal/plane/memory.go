package plane

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
)

// ProcessMemory is one process's peak resident set size, as the kernel counts it (VmHWM).
type ProcessMemory struct {
	PID  int
	Name string // the command name, /proc/<pid>/comm
	Peak int64  // bytes
}

// MemoryReport is the peak memory of this process and every process it started, directly or
// not, at the moment it is taken: the plane's API server and etcd, its child processes, and
// the test or demo process that runs the L-KaaS manager.
type MemoryReport struct {
	Processes []ProcessMemory // largest first
	// SumOfPeaks adds each process's own peak. The processes did not all peak at the same
	// moment, so it bounds the plane's peak from above.
	SumOfPeaks int64
}

// PlaneMemory reads the peak RSS of this process and all its descendants from /proc.
// Processes that have already ended are not counted: take it before Stop.
func PlaneMemory() (MemoryReport, error) {
	descendants, err := Descendants(os.Getpid())
	if err != nil {
		return MemoryReport{}, err
	}
	var report MemoryReport
	for _, pid := range append([]int{os.Getpid()}, descendants...) {
		peak, err := peakRSS(pid)
		if err != nil {
			continue // ended while we looked
		}
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		report.Processes = append(report.Processes, ProcessMemory{PID: pid, Name: strings.TrimSpace(string(comm)), Peak: peak})
		report.SumOfPeaks += peak
	}
	sort.Slice(report.Processes, func(i, j int) bool { return report.Processes[i].Peak > report.Processes[j].Peak })
	return report, nil
}

// String lists the processes, one per line, then the sum, in MiB.
func (r MemoryReport) String() string {
	var b strings.Builder
	for _, p := range r.Processes {
		fmt.Fprintf(&b, "%-28s %7.0f MiB\n", p.Name, float64(p.Peak)/(1<<20))
	}
	fmt.Fprintf(&b, "%-28s %7.0f MiB (sum of each process's peak)\n", "total", float64(r.SumOfPeaks)/(1<<20))
	return b.String()
}

// Descendants lists the processes that pid started, directly or not, that are still there.
func Descendants(pid int) ([]int, error) {
	procs, err := DescendantProcesses(pid)
	if err != nil {
		return nil, err
	}
	pids := make([]int, len(procs))
	for i, p := range procs {
		pids[i] = p.PID
	}
	return pids, nil
}

// peakRSS reads a process's VmHWM from /proc/<pid>/status, in bytes.
func peakRSS(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(data)) {
		rest, ok := strings.CutPrefix(line, "VmHWM:")
		if !ok {
			continue
		}
		fields := strings.Fields(rest) // "123456 kB"
		if len(fields) != 2 || fields[1] != "kB" {
			break
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return 0, err
		}
		return kb * 1024, nil
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
}
