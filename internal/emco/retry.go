package emco

import (
	"context"
	"net/http"
	"time"
)

// RetryPolicy bounds how often a request is re-sent after a 5xx answer or a
// connection error. 4xx answers are never retried: EMCO has decided.
type RetryPolicy struct {
	// MaxAttempts counts the first try; 1 disables retries. Zero means 5.
	MaxAttempts int
	// BaseDelay is the wait before the second attempt; it doubles each time. Zero means 200ms.
	BaseDelay time.Duration
	// MaxDelay caps one wait. Zero means 5s.
	MaxDelay time.Duration
	// Sleep waits between attempts; tests inject a recorder. Nil sleeps on a timer
	// and returns early with ctx.Err() when ctx ends.
	Sleep func(ctx context.Context, d time.Duration) error
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 5
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = 200 * time.Millisecond
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = 5 * time.Second
	}
	if p.Sleep == nil {
		p.Sleep = sleepContext
	}
	return p
}

// Backoff returns the wait after the given failed attempt (1-based): BaseDelay·2^(attempt-1), capped.
func (p RetryPolicy) Backoff(attempt int) time.Duration {
	p = p.withDefaults()
	d := p.BaseDelay
	for i := 1; i < attempt; i++ {
		d *= 2
		if d >= p.MaxDelay {
			return p.MaxDelay
		}
	}
	return min(d, p.MaxDelay)
}

// retryableStatus: only server-side failures may heal by themselves.
func retryableStatus(code int) bool { return code >= http.StatusInternalServerError }

func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
