package web

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net"
	"net/http"
	"time"

	ctrlcache "sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
)

//go:embed assets
var assets embed.FS

// Options tune the status page.
type Options struct {
	// LocationLabels are the member labels that group sites on the logical-cluster page,
	// the first one present wins (default: location, then region).
	LocationLabels []string
	// Keepalive is how often an idle event stream gets a comment (default 25s).
	Keepalive time.Duration
	// RequestTimeout bounds the cache reads of one page (default 5s).
	RequestTimeout time.Duration
	// StatusLog gives the status branches' commits for the history page; nil shows only the
	// status commits seen since the server started.
	StatusLog StatusLog
}

// Server is the status page's http.Handler.
type Server struct {
	reader    client.Reader
	informers ctrlcache.Informers
	opts      Options
	pages     map[string]*template.Template
	mux       *http.ServeMux
	live      *broadcaster
	history   history
	keepalive time.Duration
	stop      chan struct{}
}

// New builds the status page over a cache: reads go to reader (wrapped so that a Secret is
// never read), live updates come from informers' event handlers once Watch has run.
func New(reader client.Reader, informers ctrlcache.Informers, opts Options) (*Server, error) {
	if len(opts.LocationLabels) == 0 {
		opts.LocationLabels = defaultLocationLabels
	}
	if opts.Keepalive <= 0 {
		opts.Keepalive = 25 * time.Second
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 5 * time.Second
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	s := &Server{
		reader: noSecrets{reader}, informers: informers, opts: opts, pages: pages,
		live: newBroadcaster(), keepalive: opts.Keepalive, stop: make(chan struct{}),
	}
	static, err := fs.Sub(assets, "assets/static")
	if err != nil {
		return nil, err
	}
	s.mux = http.NewServeMux()
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServer(http.FS(static))))
	s.mux.HandleFunc("GET /{$}", s.page("overview", s.overview))
	s.mux.HandleFunc("GET /logicalclusters/{namespace}/{name}", s.page("logicalcluster", s.logicalCluster))
	s.mux.HandleFunc("GET /clusters/{namespace}/{name}", s.page("cluster", s.cluster))
	s.mux.HandleFunc("GET /fleets/{namespace}/{name}/history", s.page("history", s.fleetHistory))
	s.mux.HandleFunc("GET /events", s.serveEvents)
	return s, nil
}

// Watch registers the live-update handlers on the informers of the watched kinds.
func (s *Server) Watch(ctx context.Context) error {
	if s.informers == nil {
		return nil
	}
	for _, obj := range watchedKinds() {
		inf, err := s.informers.GetInformer(ctx, obj)
		if err != nil {
			return fmt.Errorf("status page: informer for %T: %w", obj, err)
		}
		if _, err := inf.AddEventHandler(s.handler()); err != nil {
			return fmt.Errorf("status page: event handler for %T: %w", obj, err)
		}
	}
	return nil
}

// ServeHTTP serves GET and HEAD only: the page changes nothing.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "the status page is read-only", http.StatusMethodNotAllowed)
		return
	}
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
	s.mux.ServeHTTP(w, r)
}

// errNotFound makes a page answer 404.
var errNotFound = errors.New("not found")

// page wraps a view builder: scope, timeout, error pages and the template.
func (s *Server) page(name string, build func(context.Context, *http.Request, string) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), s.opts.RequestTimeout)
		defer cancel()
		scope := r.URL.Query().Get("namespace")
		if ns := r.PathValue("namespace"); scope != "" && ns != "" && ns != scope {
			http.Error(w, "not in the namespace this view is scoped to", http.StatusNotFound)
			return
		}
		data, err := build(ctx, r, scope)
		switch {
		case errors.Is(err, errNotFound):
			http.Error(w, "not found", http.StatusNotFound)
			return
		case err != nil:
			log.FromContext(ctx).Error(err, "status page", "page", name)
			http.Error(w, "reading the cache failed; see the controller's log", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if err := s.pages[name].ExecuteTemplate(w, "layout", layout{Scope: scope, Page: data}); err != nil {
			log.FromContext(ctx).Error(err, "status page template", "page", name)
		}
	}
}

// layout is what every page template gets.
type layout struct {
	Scope string
	Page  any
}

// Runnable serves the status page on Addr while the manager runs; it runs on every replica
// (no leader election needed: it only reads).
type Runnable struct {
	Addr   string
	Server *Server
	// Listening, when set, gets the bound address (tests and the demo use port 0).
	Listening func(addr string)
}

// NeedLeaderElection is false: every replica can serve the page from its own cache.
func (r *Runnable) NeedLeaderElection() bool { return false }

// Start listens, registers the live-update handlers and serves until ctx ends.
func (r *Runnable) Start(ctx context.Context) error {
	ln, err := net.Listen("tcp", r.Addr)
	if err != nil {
		return fmt.Errorf("status page: listening on %s: %w", r.Addr, err)
	}
	if err := r.Server.Watch(ctx); err != nil {
		_ = ln.Close()
		return err
	}
	if r.Listening != nil {
		r.Listening(ln.Addr().String())
	}
	srv := &http.Server{Handler: r.Server, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		close(r.Server.stop) // end the event streams, which Shutdown does not wait for
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(shutdownCtx)
	case err := <-errc:
		return err
	}
}
