package emco_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcn-ssu/lkaas/internal/emco"
	"github.com/dcn-ssu/lkaas/internal/emco/emcotest"
)

func TestRetries(t *testing.T) {
	ctx := context.Background()
	createProvider := func(c *emco.Client) error {
		return c.CreateProject(ctx, emco.Project{Metadata: emco.Metadata{Name: project}})
	}
	cases := []struct {
		name         string
		fault        emcotest.Fault
		wantErr      int // status of the final error; 0: success
		wantAttempts int
		wantSleeps   []time.Duration
	}{
		{"5xx is retried with exponential backoff, then succeeds",
			emcotest.Fault{Status: 500, Times: 3}, 0, 4, []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond}},
		{"503 too", emcotest.Fault{Status: 503, Times: 1}, 0, 2, []time.Duration{200 * time.Millisecond}},
		{"a dropped connection is retried", emcotest.Fault{Drop: true, Times: 2}, 0, 3, []time.Duration{200 * time.Millisecond, 400 * time.Millisecond}},
		{"retries are bounded", emcotest.Fault{Status: 500}, 500, 5,
			[]time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, 1600 * time.Millisecond}},
		{"4xx is never retried", emcotest.Fault{Status: 409, Body: "Project already exists", Times: 1}, 409, 1, nil},
		{"404 is never retried", emcotest.Fault{Status: 404, Times: 1}, 404, 1, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, "ingress")
			h.emu.AddFault(tc.fault)
			err := createProvider(h.client)
			if tc.wantErr == 0 {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
				assert.Equal(t, tc.wantErr, emco.StatusCode(err))
			}
			assert.Len(t, h.emu.Requests(), tc.wantAttempts)
			assert.Equal(t, tc.wantSleeps, h.sleeps.recorded())
		})
	}
}

func TestRetryBackoffIsCapped(t *testing.T) {
	p := emco.RetryPolicy{BaseDelay: time.Second, MaxDelay: 3 * time.Second}
	assert.Equal(t, []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second},
		[]time.Duration{p.Backoff(1), p.Backoff(2), p.Backoff(3), p.Backoff(10)})
}

func TestRetryStopsWhenTheContextEnds(t *testing.T) {
	h := newHarness(t, "ingress", func(o *emco.Options) {
		o.Retry = emco.RetryPolicy{} // real sleeps
	})
	h.emu.FailNext(100, 500)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := h.client.ListProjects(ctx)
	require.Error(t, err)
	assert.Less(t, time.Since(start), 2*time.Second)
}

func TestTimeoutIsPerAttemptAndRetried(t *testing.T) {
	// The timeout is far above what a second attempt takes on a loaded machine (a 50 ms one
	// let a slow second attempt time out too), and the first attempt's latency far above it.
	h := newHarness(t, "ingress", func(o *emco.Options) { o.Timeout = time.Second })
	h.emu.AddFault(emcotest.Fault{Latency: 4 * time.Second, Times: 1})
	_, err := h.client.ListProjects(context.Background())
	require.NoError(t, err, "the slow first attempt times out, the second succeeds")
	assert.Len(t, h.sleeps.recorded(), 1)
}

func TestObserveSeesEveryAttempt(t *testing.T) {
	var calls []emco.Call
	h := newHarness(t, "split", func(o *emco.Options) { o.Observe = func(c emco.Call) { calls = append(calls, c) } })
	h.emu.FailNext(1, 502)
	_, err := h.client.ListClusters(context.Background(), "nope")
	require.Error(t, err)
	require.Len(t, calls, 2)
	assert.Equal(t, emco.CLM, calls[0].Service)
	assert.Equal(t, []int{502, http.StatusNotFound}, []int{calls[0].StatusCode, calls[1].StatusCode})
	assert.False(t, errors.Is(err, context.Canceled))
}
