package demo

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

// watcher shows the logical cluster's progress: the table again whenever it changes.
type watcher struct {
	c     client.Reader
	out   io.Writer
	begin time.Time
	last  string
}

// untilReady shows progress until the logical cluster is Ready, ctx ends or timeout passes.
func (w *watcher) untilReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		p, err := w.show(ctx)
		if err == nil && p.ready() {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("demo: the logical cluster was not Ready within %s (last read error: %v); the table above is the last state seen", timeout, err)
		}
		sleep(ctx, time.Second)
	}
}

// untilDone shows changes until ctx ends.
func (w *watcher) untilDone(ctx context.Context) {
	for ctx.Err() == nil {
		_, _ = w.show(ctx)
		sleep(ctx, time.Second)
	}
}

// show reads the progress and prints it when it differs from what was shown last.
func (w *watcher) show(ctx context.Context) (progress, error) {
	p, err := readProgress(ctx, w.c)
	if err != nil {
		return p, err
	}
	var b bytes.Buffer
	p.render(&b)
	if text := b.String(); text != w.last {
		w.last = text
		fmt.Fprintf(w.out, "\n[%s]\n%s", time.Since(w.begin).Round(time.Second), text)
	}
	return p, nil
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
