package web

import (
	"fmt"
	"net/http"
	"sync"
	"time"

	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
)

// broadcaster tells every open page that the cache changed. A subscriber's channel holds at
// most one pending notice: a burst of cache events becomes one refresh per page.
type broadcaster struct {
	mu   sync.Mutex
	subs map[chan string]string // channel → namespace it watches ("" for all)
}

func newBroadcaster() *broadcaster { return &broadcaster{subs: map[chan string]string{}} }

func (b *broadcaster) subscribe(namespace string) chan string {
	ch := make(chan string, 1)
	b.mu.Lock()
	b.subs[ch] = namespace
	b.mu.Unlock()
	return ch
}

func (b *broadcaster) unsubscribe(ch chan string) {
	b.mu.Lock()
	delete(b.subs, ch)
	b.mu.Unlock()
}

// notify wakes the subscribers that watch namespace (or all namespaces), without blocking.
func (b *broadcaster) notify(namespace string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch, ns := range b.subs {
		if ns != "" && ns != namespace {
			continue
		}
		select {
		case ch <- namespace:
		default: // a notice is already pending for this page
		}
	}
}

// history keeps, per Fleet, the status commits seen since the server started, newest first
// (the Fleet status holds only the last one): what the history page shows until the status
// writer has read the branch.
type history struct {
	mu      sync.Mutex
	byFleet map[string][]HistoryEntry
}

const historyLength = 100

func (h *history) record(f *automationv1alpha1.Fleet) {
	wb := f.Status.WriteBack
	if wb == nil || wb.LastPushedCommit == "" {
		return
	}
	key := f.Namespace + "/" + f.Name
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.byFleet == nil {
		h.byFleet = map[string][]HistoryEntry{}
	}
	list := h.byFleet[key]
	if len(list) > 0 && list[0].Commit == wb.LastPushedCommit {
		return
	}
	e := HistoryEntry{Commit: wb.LastPushedCommit, Revision: f.Status.LastAppliedRevision}
	if wb.LastPushTime != nil {
		e.Time = wb.LastPushTime.Time
	}
	list = append([]HistoryEntry{e}, list...)
	if len(list) > historyLength {
		list = list[:historyLength]
	}
	h.byFleet[key] = list
}

func (h *history) of(namespace, name string) []HistoryEntry {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]HistoryEntry(nil), h.byFleet[namespace+"/"+name]...)
}

func (h *history) forget(namespace, name string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.byFleet, namespace+"/"+name)
}

// watchedKinds are the kinds whose changes refresh open pages.
func watchedKinds() []client.Object {
	return []client.Object{&automationv1alpha1.Fleet{}, &automationv1alpha1.Cluster{}, &intentv1.LogicalCluster{}}
}

// handler feeds cache events of one kind to the broadcaster (and Fleets to the history).
func (s *Server) handler() toolscache.ResourceEventHandler {
	seen := func(obj any) {
		if tomb, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
			obj = tomb.Obj
		}
		o, ok := obj.(client.Object)
		if !ok {
			return
		}
		if f, ok := o.(*automationv1alpha1.Fleet); ok {
			s.history.record(f)
		}
		s.live.notify(o.GetNamespace())
	}
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc:    seen,
		UpdateFunc: func(_, obj any) { seen(obj) },
		DeleteFunc: func(obj any) {
			if f, ok := obj.(*automationv1alpha1.Fleet); ok {
				s.history.forget(f.Namespace, f.Name)
			}
			seen(obj)
		},
	}
}

// serveEvents streams a "change" event whenever the cache changes in the page's scope; the
// page's script then fetches itself again from this server (from the cache, not the API
// server). A comment every keepalive keeps proxies from closing an idle stream.
func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	ch := s.live.subscribe(r.URL.Query().Get("namespace"))
	defer s.live.unsubscribe(ch)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	fmt.Fprint(w, "retry: 3000\n\n")
	flusher.Flush()
	keepalive := time.NewTicker(s.keepalive)
	defer keepalive.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.stop:
			return
		case ns := <-ch:
			fmt.Fprintf(w, "event: change\ndata: %s\n\n", ns)
			flusher.Flush()
		case <-keepalive.C:
			fmt.Fprint(w, ": keepalive\n\n")
			flusher.Flush()
		}
	}
}
