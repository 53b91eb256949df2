package demo

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/dcn-ssu/lkaas/internal/plane"
)

func TestOtherPlaneProblems(t *testing.T) {
	parentOf := func(pid int) string { return map[int]string{4242: "lkaas (pid 4242)"}[pid] }
	apiServer := plane.ProcessInfo{PID: 100, PPID: 4242, Name: "kube-apiserver"}
	capd := plane.ProcessInfo{PID: 101, PPID: 4242, Name: "capd"}
	orphanEtcd := plane.ProcessInfo{PID: 200, PPID: 1, Name: "etcd"}
	orphanCAPD := plane.ProcessInfo{PID: 201, PPID: 1, Name: "capd"}
	tests := []struct {
		name  string
		procs []plane.ProcessInfo
		want  string
	}{
		{name: "nothing running", want: ""},
		{name: "a test's API server, no CAPD: no conflict", procs: []plane.ProcessInfo{apiServer}, want: ""},
		{
			name:  "another demo's plane",
			procs: []plane.ProcessInfo{apiServer, capd},
			want: "another management plane is running: capd (pid 101), started by lkaas (pid 4242); its Cluster API in-memory backend holds the ports this one needs\n" +
				"  end that demo or test run (Ctrl-C in its terminal, or:  kill 4242), then start this one again",
		},
		{
			name:  "left behind by an earlier run",
			procs: []plane.ProcessInfo{orphanEtcd, orphanCAPD},
			want: "processes of an earlier demo or test run are still running, with no parent: etcd (pid 200), capd (pid 201)\n" +
				"  stop them with:  kill 200 201",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, otherPlaneProblems(tt.procs, parentOf))
		})
	}
}

// brokenTerminal fails every write, as a pipe whose reader is gone.
type brokenTerminal struct{ writes int }

func (b *brokenTerminal) Write([]byte) (int, error) {
	b.writes++
	return 0, errors.New("write |1: broken pipe")
}

// Once the terminal refuses a write, the screen stops writing there, never fails, and the log
// still gets every line (the teardown's included).
func TestScreenOutlivesItsTerminal(t *testing.T) {
	term := &brokenTerminal{}
	var log bytes.Buffer
	s := &screen{terminal: term, log: &log}
	for _, line := range []string{"==> tearing down\n", "==> every process stopped\n"} {
		n, err := s.Write([]byte(line))
		assert.NoError(t, err)
		assert.Equal(t, len(line), n)
	}
	assert.Equal(t, 1, term.writes, "no write to the terminal after the first failure")
	assert.Equal(t, "==> tearing down\n==> every process stopped\n", log.String())
}
