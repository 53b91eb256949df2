package emcotest

import (
	"net/http"
	"strings"
	"sync"
	"time"
)

// Fault disturbs matching requests before the emulator handles them.
type Fault struct {
	// Service, Method and PathPrefix select requests; empty matches all.
	Service    Service
	Method     string
	PathPrefix string
	// Latency delays the request (then it proceeds, or fails as below).
	Latency time.Duration
	// Status, when non-zero, answers with this code and Body (default: EMCO's
	// generic 500 text) instead of handling the request.
	Status int
	Body   string
	// Drop closes the connection without an answer.
	Drop bool
	// Times limits how many requests the fault affects; 0 means every one.
	Times int
}

// Request is one entry of the request log.
type Request struct {
	Service Service
	Method  string
	Path    string
	Query   string
	Status  int // 0 when the connection was dropped
	// Time is when the answer was given (or the connection dropped), so a test can order
	// EMCO's changes against the API server's audit log.
	Time time.Time
}

// IsWrite reports whether the request asked EMCO to change something.
func (r Request) IsWrite() bool { return r.Method != http.MethodGet && r.Method != http.MethodHead }

type faultEntry struct {
	Fault
	remaining int // -1: unlimited
}

type hooks struct {
	mu       sync.Mutex
	faults   []*faultEntry
	requests []Request
}

// AddFault installs a fault; faults are checked in the order added.
func (e *Emulator) AddFault(f Fault) {
	e.hooks.mu.Lock()
	defer e.hooks.mu.Unlock()
	remaining := f.Times
	if remaining <= 0 {
		remaining = -1
	}
	e.hooks.faults = append(e.hooks.faults, &faultEntry{Fault: f, remaining: remaining})
}

// FailNext answers the next n requests with status (e.g. 500 or 503).
func (e *Emulator) FailNext(n, status int) { e.AddFault(Fault{Status: status, Times: n}) }

// DropNext closes the connection of the next n requests without an answer.
func (e *Emulator) DropNext(n int) { e.AddFault(Fault{Drop: true, Times: n}) }

// SetLatency delays every request by d until ClearFaults.
func (e *Emulator) SetLatency(d time.Duration) { e.AddFault(Fault{Latency: d}) }

// ClearFaults removes every fault.
func (e *Emulator) ClearFaults() {
	e.hooks.mu.Lock()
	defer e.hooks.mu.Unlock()
	e.hooks.faults = nil
}

// Requests returns the request log in arrival order.
func (e *Emulator) Requests() []Request {
	e.hooks.mu.Lock()
	defer e.hooks.mu.Unlock()
	return append([]Request(nil), e.hooks.requests...)
}

// Writes returns the logged requests that asked for a change (not GET).
func (e *Emulator) Writes() []Request {
	var out []Request
	for _, r := range e.Requests() {
		if r.IsWrite() {
			out = append(out, r)
		}
	}
	return out
}

// ResetRequests empties the request log.
func (e *Emulator) ResetRequests() {
	e.hooks.mu.Lock()
	defer e.hooks.mu.Unlock()
	e.hooks.requests = nil
}

func (h *hooks) log(s Service, r *http.Request, status int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.requests = append(h.requests, Request{Service: s, Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Status: status, Time: time.Now()})
}

// take returns the faults that apply to r, consuming one use of each.
func (h *hooks) take(r *http.Request, s Service) []Fault {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []Fault
	kept := h.faults[:0]
	for _, f := range h.faults {
		if (f.Service == "" || f.Service == s) && (f.Method == "" || f.Method == r.Method) &&
			strings.HasPrefix(r.URL.Path, f.PathPrefix) {
			out = append(out, f.Fault)
			if f.remaining > 0 {
				f.remaining--
			}
		}
		if f.remaining != 0 {
			kept = append(kept, f)
		}
	}
	h.faults = kept
	return out
}

// intercept applies faults; it reports whether the request was answered (or dropped).
func (h *hooks) intercept(w *recorder, r *http.Request, s Service) bool {
	for _, f := range h.take(r, s) {
		if f.Latency > 0 {
			select {
			case <-time.After(f.Latency):
			case <-r.Context().Done():
				return true
			}
		}
		switch {
		case f.Drop:
			// Aborting the handler makes net/http close the connection unanswered.
			panic(http.ErrAbortHandler)
		case f.Status != 0:
			body := f.Body
			if body == "" {
				body = msgInternal
			}
			http.Error(w, body, f.Status)
			return true
		}
	}
	return false
}
