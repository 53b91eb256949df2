package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcn-ssu/lkaas/internal/emco"
)

// lockedBuffer is a bytes.Buffer safe for the server goroutines and the test.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type runningEmulator struct {
	fields map[string]string // endpoint field → URL, as printed
	ready  string
	stdout *lockedBuffer // everything printed on stdout
	stderr *lockedBuffer
	stop   func() error // cancels the command's context and returns what it returned
}

// startEmulator runs `lkaas emco-emulator args...` until the test ends and
// waits for its ready line and endpoint fields.
func startEmulator(t *testing.T, args ...string) *runningEmulator {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	em := &runningEmulator{fields: map[string]string{}, stdout: &lockedBuffer{}, stderr: &lockedBuffer{}}
	root := newRootCommand()
	root.SetArgs(append([]string{"emco-emulator"}, args...))
	root.SetOut(io.MultiWriter(pw, em.stdout))
	root.SetErr(em.stderr)
	done := make(chan error, 1)
	go func() {
		err := root.ExecuteContext(ctx)
		_ = pw.Close()
		done <- err
	}()
	var once sync.Once
	var runErr error
	em.stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(10 * time.Second):
				t.Error("emco-emulator did not stop within 10s of its context ending")
			}
		})
		return runErr
	}
	t.Cleanup(func() { _ = em.stop() })

	// The reader fills em.ready and em.fields, closes ready once they are in,
	// and keeps reading so later writes never block.
	ready := make(chan struct{})
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		sc := bufio.NewScanner(pr)
		isReady := false
		for sc.Scan() {
			if isReady {
				continue
			}
			line := sc.Text()
			if strings.HasPrefix(line, emulatorReady) {
				em.ready = line
			} else if field, url, ok := strings.Cut(strings.TrimSpace(line), ": "); ok && em.ready != "" {
				em.fields[field] = url
			}
			if em.ready != "" && (em.fields["url"] != "" || em.fields["dcmURL"] != "") {
				isReady = true
				close(ready)
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	select {
	case <-ready:
		return em
	case <-ended:
		t.Fatalf("emco-emulator ended before it was ready: %v; stderr: %s", em.stop(), em.stderr)
	case <-time.After(10 * time.Second):
		t.Fatalf("no ready line within 10s; stdout: %q stderr: %q", em.stdout, em.stderr)
	}
	return nil
}

func newEMCOClient(t *testing.T, endpoints emco.Endpoints, token string) *emco.Client {
	t.Helper()
	c, err := emco.New(emco.Options{Endpoints: endpoints, BearerToken: token, Timeout: 5 * time.Second, Retry: emco.RetryPolicy{MaxAttempts: 1}})
	require.NoError(t, err)
	return c
}

func TestEMCOEmulatorServesOneURLAndRequiresTheToken(t *testing.T) {
	const token = "s3cret-token-value"
	tokenFile := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte(token+"\n"), 0o600))
	em := startEmulator(t, "--listen", "127.0.0.1:0", "--token-file", tokenFile, "--verbose")

	url := em.fields["url"]
	require.True(t, strings.HasPrefix(url, "http://127.0.0.1:"), "url field: %q", url)
	assert.Equal(t, emulatorReady+url, em.ready)
	ctx := context.Background()
	project := emco.Project{Metadata: emco.Metadata{Name: "demo"}}

	// Without the token (or with another one) the client gets a 401 and nothing is stored.
	_, err := newEMCOClient(t, emco.SingleEndpoint(url), "").EnsureProject(ctx, project)
	assert.Equal(t, http.StatusUnauthorized, emco.StatusCode(err), "no token: %v", err)
	_, err = newEMCOClient(t, emco.SingleEndpoint(url), "wrong").EnsureProject(ctx, project)
	assert.Equal(t, http.StatusUnauthorized, emco.StatusCode(err), "wrong token: %v", err)
	resp, err := http.Get(url + "/v2/projects")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.True(t, strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain"), resp.Header.Get("Content-Type"))
	assert.NotContains(t, string(body), token)

	// With it, the emulator behaves as EMCO: created once, then unchanged.
	c := newEMCOClient(t, emco.SingleEndpoint(url), token)
	change, err := c.EnsureProject(ctx, project)
	require.NoError(t, err)
	assert.Equal(t, emco.Created, change)
	change, err = c.EnsureProject(ctx, project)
	require.NoError(t, err)
	assert.Equal(t, emco.Unchanged, change)
	got, err := c.GetProject(ctx, "demo")
	require.NoError(t, err)
	assert.Equal(t, "demo", got.Metadata.Name)
	// One URL serves clm too.
	_, err = c.EnsureClusterProvider(ctx, emco.ClusterProvider{Metadata: emco.Metadata{Name: "cp"}})
	require.NoError(t, err)

	require.NoError(t, em.stop(), "graceful stop")
	logs := em.stderr.String()
	assert.Contains(t, logs, "GET /v2/projects 401")
	assert.Contains(t, logs, "POST /v2/projects 201")
	assert.Contains(t, logs, "GET /v2/projects/demo 200")
	assert.Contains(t, logs, "POST /v2/cluster-providers 201")
	assert.Contains(t, logs, "EMCO emulator stopped")
	assert.NotContains(t, logs, token)
	assert.NotContains(t, em.stdout.String(), token)
}

func TestEMCOEmulatorSplit(t *testing.T) {
	em := startEmulator(t, "--listen", "127.0.0.1:0", "--split")
	urls := emco.Endpoints{Orchestrator: em.fields["orchestratorURL"], CLM: em.fields["clmURL"], DCM: em.fields["dcmURL"]}
	for _, u := range []string{urls.Orchestrator, urls.CLM, urls.DCM} {
		require.True(t, strings.HasPrefix(u, "http://127.0.0.1:"), "fields: %v", em.fields)
	}
	assert.Len(t, map[string]bool{urls.Orchestrator: true, urls.CLM: true, urls.DCM: true}, 3, "three addresses")
	assert.Contains(t, em.ready, urls.Orchestrator)

	ctx := context.Background()
	c := newEMCOClient(t, urls, "")
	_, err := c.EnsureProject(ctx, emco.Project{Metadata: emco.Metadata{Name: "demo"}})
	require.NoError(t, err)
	_, err = c.EnsureClusterProvider(ctx, emco.ClusterProvider{Metadata: emco.Metadata{Name: "cp"}})
	require.NoError(t, err)
	// Each port serves its own service only, sharing one state.
	_, err = newEMCOClient(t, emco.SingleEndpoint(urls.CLM), "").GetProject(ctx, "demo")
	assert.True(t, emco.IsNotFound(err), "project on the clm port: %v", err)
	assert.Empty(t, em.stderr.String(), "no request log without --verbose")
	require.NoError(t, em.stop())
}

func TestEMCOEmulatorUsage(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	empty := filepath.Join(t.TempDir(), "empty")
	require.NoError(t, os.WriteFile(empty, []byte(" \n"), 0o600))
	cases := []struct {
		name string
		args []string
		want int
	}{
		{"help", []string{"emco-emulator", "--help"}, 0},
		{"listen without a port", []string{"emco-emulator", "--listen", "127.0.0.1"}, exitUsage},
		{"split past the last port", []string{"emco-emulator", "--split", "--listen", "127.0.0.1:65534"}, exitUsage},
		{"arguments", []string{"emco-emulator", "extra"}, exitUsage},
		{"missing token file", []string{"emco-emulator", "--listen", "127.0.0.1:0", "--token-file", missing}, exitFailure},
		{"empty token file", []string{"emco-emulator", "--listen", "127.0.0.1:0", "--token-file", empty}, exitFailure},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, run(tc.args))
		})
	}
}
