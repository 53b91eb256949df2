package plane_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dcn-ssu/lkaas/internal/plane"
)

// Each of kube-apiserver and etcd can be stopped, killed and paused and started again, and
// comes back with what was written before and the same address, certificates and users, so
// that a client made before the fault works after it.
func TestAPIServerAndEtcdRestartKeepingTheirData(t *testing.T) {
	api, err := plane.Start()
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, api.Stop()) })

	before := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "before", Namespace: "default"}, Data: map[string]string{"k": "v"}}
	require.NoError(t, api.Client.Create(context.Background(), before))

	faults := []struct {
		part   string
		inject func(plane.Part) error
	}{
		{plane.KubeAPIServer, plane.Part.Stop},
		{plane.KubeAPIServer, plane.Part.Kill},
		{plane.Etcd, plane.Part.Stop},
		{plane.Etcd, plane.Part.Kill},
	}
	for _, f := range faults {
		part, err := api.Part(f.part)
		require.NoError(t, err)
		begin := time.Now()
		require.NoError(t, f.inject(part), "fault on %s", f.part)
		t.Logf("%s down in %s", f.part, time.Since(begin).Round(time.Millisecond))

		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = api.Client.Get(ctx, client.ObjectKeyFromObject(before), &corev1.ConfigMap{})
		cancel()
		assert.Error(t, err, "%s is down: a read must fail", f.part)

		begin = time.Now()
		require.NoError(t, part.Start(), "starting %s again", f.part)
		t.Logf("%s up again in %s", f.part, time.Since(begin).Round(time.Millisecond))
		got := &corev1.ConfigMap{}
		require.NoError(t, eventually(func() error { return api.Client.Get(context.Background(), client.ObjectKeyFromObject(before), got) }),
			"after %s came back, the same client reads what was written before", f.part)
		assert.Equal(t, "v", got.Data["k"])
	}

	// A paused API server holds its connections and answers nothing; resumed, it answers.
	part, err := api.Part(plane.KubeAPIServer)
	require.NoError(t, err)
	require.NoError(t, part.Pause())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	err = api.Client.Get(ctx, client.ObjectKeyFromObject(before), &corev1.ConfigMap{})
	cancel()
	assert.ErrorIs(t, err, context.DeadlineExceeded, "a paused API server does not answer")
	require.NoError(t, part.Resume())
	require.NoError(t, eventually(func() error {
		return api.Client.Get(context.Background(), client.ObjectKeyFromObject(before), &corev1.ConfigMap{})
	}))
}

// A child process of the plane can be killed, paused and started again: the restart appends
// to the same log and waits for the same readiness as the first start (its log line from this
// run, not the one already in the log).
func TestProcessRestartsWithItsSpec(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "server.sh")
	require.NoError(t, os.WriteFile(script, []byte("#!/bin/sh\necho \"ready $$\"\nexec sleep 600\n"), 0o700))
	proc, err := plane.StartProcess(plane.ProcessSpec{
		Name: "server", Path: script, LogDir: dir,
		Ready: func(p *plane.Process) error { return p.WaitForLog(30*time.Second, "ready") },
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = proc.Stop() })

	first := proc.PID()
	assert.Error(t, proc.Start(), "a running process is not started twice")
	require.NoError(t, proc.Kill())
	assert.True(t, proc.Exited())
	require.NoError(t, proc.Start())
	assert.NotEqual(t, first, proc.PID())
	assert.False(t, proc.Exited())

	require.NoError(t, proc.Pause())
	state := func() string {
		info, err := plane.ReadProcess(proc.PID())
		require.NoError(t, err)
		return info.State
	}
	assert.Equal(t, "T", state(), "paused: stopped by SIGSTOP")
	require.NoError(t, proc.Resume())
	assert.NotEqual(t, "T", state())
	require.NoError(t, proc.Stop(), "a paused or running process stops in order")

	log, err := os.ReadFile(proc.LogPath)
	require.NoError(t, err)
	assert.Contains(t, string(log), "ready ", "the first run's line")
	assert.Regexp(t, `(?s)ready \d+\nready \d+\n`, string(log), "the restart appended to the same log")
}

// eventually retries f until it succeeds, for at most a minute.
func eventually(f func() error) error {
	var last error
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		last = f()
		return last == nil, nil
	})
	if err != nil && last != nil {
		return last
	}
	return err
}
