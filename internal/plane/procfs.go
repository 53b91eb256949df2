package plane

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ProcessInfo is what /proc says of one process.
type ProcessInfo struct {
	PID  int
	PPID int
	// Name is the command name, cut by the kernel at 15 characters.
	Name string
	// State is the one-letter state: R, S, D, Z (ended, not yet reaped), …
	State string
	// StartTime is in clock ticks since boot; with the PID it names one process for good,
	// since a PID is reused once its process is gone.
	StartTime uint64
	// Exe is the path of the executable (empty when /proc does not tell).
	Exe string
}

// ReadProcess reads /proc/<pid>/stat and exe.
func ReadProcess(pid int) (ProcessInfo, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ProcessInfo{}, err
	}
	// "pid (comm) state ppid … starttime(22nd) …": comm may hold spaces and parentheses.
	s := string(data)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return ProcessInfo{}, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	fields := strings.Fields(s[end+1:]) // fields[0] is the 3rd field of stat
	if len(fields) < 20 {
		return ProcessInfo{}, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	ppid, err1 := strconv.Atoi(fields[1])
	start, err2 := strconv.ParseUint(fields[19], 10, 64)
	if err1 != nil || err2 != nil {
		return ProcessInfo{}, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	return ProcessInfo{PID: pid, PPID: ppid, Name: s[open+1 : end], State: fields[0], StartTime: start, Exe: exe}, nil
}

// Running reports whether the process p describes is still there and not ended: a zombie has
// ended (only its parent's wait is missing), and a new process with the same PID is another.
func (p ProcessInfo) Running() bool {
	now, err := ReadProcess(p.PID)
	return err == nil && now.StartTime == p.StartTime && now.State != "Z"
}

func (p ProcessInfo) String() string { return fmt.Sprintf("%s (pid %d)", p.Name, p.PID) }

// AllProcesses reads every process in /proc; those that end while it reads are left out.
func AllProcesses() ([]ProcessInfo, error) {
	dirs, err := filepath.Glob("/proc/[0-9]*")
	if err != nil {
		return nil, err
	}
	var out []ProcessInfo
	for _, dir := range dirs {
		pid, err := strconv.Atoi(filepath.Base(dir))
		if err != nil {
			continue
		}
		if info, err := ReadProcess(pid); err == nil {
			out = append(out, info)
		}
	}
	return out, nil
}

// DescendantProcesses is every process that pid started, directly or not, that is still
// running.
func DescendantProcesses(pid int) ([]ProcessInfo, error) {
	all, err := AllProcesses()
	if err != nil {
		return nil, err
	}
	children := map[int][]ProcessInfo{}
	for _, p := range all {
		children[p.PPID] = append(children[p.PPID], p)
	}
	var out []ProcessInfo
	queue := children[pid]
	for len(queue) > 0 {
		next := queue[0]
		queue = append(queue[1:], children[next.PID]...)
		if next.State != "Z" {
			out = append(out, next)
		}
	}
	return out, nil
}

// planeTools are the binaries of the local management plane, as hack/tools.sh names them.
var planeTools = []string{"kube-apiserver", "etcd", "kube-controller-manager", "source-controller",
	"capi-core", "capi-kubeadm-bootstrap", "capi-kubeadm-control-plane", "capd"}

// RunningPlaneProcesses lists every process on this machine that runs one of the plane's
// binaries from the tool cache, whoever started it.
func RunningPlaneProcesses() ([]ProcessInfo, error) {
	paths := map[string]bool{}
	for _, tool := range planeTools {
		_, path, err := cachedTool(tool)
		if err != nil {
			return nil, err
		}
		paths[path] = true
	}
	all, err := AllProcesses()
	if err != nil {
		return nil, err
	}
	var out []ProcessInfo
	for _, p := range all {
		// A binary rebuilt while it runs shows as "<path> (deleted)".
		if paths[strings.TrimSuffix(p.Exe, " (deleted)")] && p.State != "Z" {
			out = append(out, p)
		}
	}
	return out, nil
}
