package emcotest

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Service names one emulated EMCO service.
type Service string

// The emulated services.
const (
	Orchestrator Service = "orchestrator"
	CLM          Service = "clm"
	DCM          Service = "dcm"
)

// Emulator holds the state shared by the emulated services (as real EMCO's
// services share one MongoDB). It is safe for concurrent use.
type Emulator struct {
	now func() time.Time

	mu          sync.Mutex // guards the stored resources below
	projects    []*projectEntry
	controllers []*controller
	providers   []*providerEntry
	nextContext int64
	holdLC      bool // instantiate/terminate/update stay in progress until CompleteTransitions

	hooks hooks // fault injection and request log; own lock
}

// Option configures an Emulator.
type Option func(*Emulator)

// WithClock makes the emulator stamp logical-cloud actions with now().
func WithClock(now func() time.Time) Option { return func(e *Emulator) { e.now = now } }

// New returns an empty emulator.
func New(opts ...Option) *Emulator {
	e := &Emulator{now: time.Now, nextContext: 1110559972373913000}
	for _, o := range opts {
		o(e)
	}
	return e
}

// Handler serves every service on one URL, like an ingress in front of EMCO.
func (e *Emulator) Handler() http.Handler { return e.serviceHandler("") }

// ServiceHandler serves one service only; paths of the others answer 404, as
// they would on that service's own port.
func (e *Emulator) ServiceHandler(s Service) http.Handler { return e.serviceHandler(s) }

// URLs are the base URLs of a split deployment.
type URLs struct {
	Orchestrator, CLM, DCM string
}

// Start serves all services on one httptest server, closed when tb ends.
func Start(tb testing.TB, opts ...Option) (*Emulator, string) {
	tb.Helper()
	e := New(opts...)
	srv := httptest.NewServer(e.Handler())
	tb.Cleanup(srv.Close)
	return e, srv.URL
}

// StartSplit serves each service on its own httptest server.
func StartSplit(tb testing.TB, opts ...Option) (*Emulator, URLs) {
	tb.Helper()
	e := New(opts...)
	start := func(s Service) string {
		srv := httptest.NewServer(e.ServiceHandler(s))
		tb.Cleanup(srv.Close)
		return srv.URL
	}
	return e, URLs{Orchestrator: start(Orchestrator), CLM: start(CLM), DCM: start(DCM)}
}

// handlerFunc serves one route; vars holds the {placeholders} of its pattern.
type handlerFunc func(w http.ResponseWriter, r *http.Request, vars map[string]string)

type route struct {
	service  Service
	segments []string
	methods  map[string]handlerFunc
}

func (e *Emulator) routes() []route {
	const (
		cl  = "/v2/cluster-providers/{cp}/clusters/{cluster}"
		lcs = "/v2/projects/{project}/logical-clouds"
		lc  = lcs + "/{lc}"
	)
	r := func(s Service, pattern string, methods map[string]handlerFunc) route {
		return route{service: s, segments: strings.Split(strings.Trim(pattern, "/"), "/"), methods: methods}
	}
	return []route{
		r(Orchestrator, "/v2/projects", map[string]handlerFunc{"GET": e.listProjects, "POST": e.createProject}),
		r(Orchestrator, "/v2/projects/{project}", map[string]handlerFunc{"GET": e.getProject, "PUT": e.putProject, "DELETE": e.deleteProject}),
		r(Orchestrator, "/v2/controllers", map[string]handlerFunc{"GET": e.listControllers, "POST": e.createController}),
		r(Orchestrator, "/v2/controllers/{name}", map[string]handlerFunc{"GET": e.getController, "PUT": e.putController, "DELETE": e.deleteController}),

		r(CLM, "/v2/cluster-providers", map[string]handlerFunc{"GET": e.listProviders, "POST": e.createProvider}),
		r(CLM, "/v2/cluster-providers/{cp}", map[string]handlerFunc{"GET": e.getProvider, "PUT": e.putProvider, "DELETE": e.deleteProvider}),
		r(CLM, "/v2/cluster-providers/{cp}/clusters", map[string]handlerFunc{"GET": e.listClusters, "POST": e.createCluster}),
		r(CLM, cl, map[string]handlerFunc{"GET": e.getCluster, "DELETE": e.deleteCluster}), // no PUT: 405
		r(CLM, cl+"/labels", map[string]handlerFunc{"GET": e.listLabels, "POST": e.createLabel}),
		r(CLM, cl+"/labels/{label}", map[string]handlerFunc{"GET": e.getLabel, "PUT": e.putLabel, "DELETE": e.deleteLabel}),
		r(CLM, cl+"/kv-pairs", map[string]handlerFunc{"GET": e.listKvPairs, "POST": e.createKvPair}),
		r(CLM, cl+"/kv-pairs/{kv}", map[string]handlerFunc{"GET": e.getKvPair, "PUT": e.putKvPair, "DELETE": e.deleteKvPair}),

		r(DCM, lcs, map[string]handlerFunc{"GET": e.listLogicalClouds, "POST": e.createLogicalCloud}),
		r(DCM, lc, map[string]handlerFunc{"GET": e.getLogicalCloud, "PUT": e.putLogicalCloud, "DELETE": e.deleteLogicalCloud}),
		r(DCM, lc+"/instantiate", map[string]handlerFunc{"POST": e.instantiate}),
		r(DCM, lc+"/terminate", map[string]handlerFunc{"POST": e.terminate}),
		r(DCM, lc+"/update", map[string]handlerFunc{"POST": e.update}),
		r(DCM, lc+"/stop", map[string]handlerFunc{"POST": e.stop}),
		r(DCM, lc+"/status", map[string]handlerFunc{"GET": e.status}),
		r(DCM, lc+"/cluster-references", map[string]handlerFunc{"GET": e.listReferences, "POST": e.createReference}),
		r(DCM, lc+"/cluster-references/{ref}", map[string]handlerFunc{"GET": e.getReference, "DELETE": e.deleteReference}),
		r(DCM, lc+"/cluster-references/{ref}/kubeconfig", map[string]handlerFunc{"GET": e.getReferenceKubeconfig}),
		r(DCM, lc+"/user-permissions", map[string]handlerFunc{"GET": e.listPermissions, "POST": e.createPermission}),
		r(DCM, lc+"/user-permissions/{up}", map[string]handlerFunc{"GET": e.getPermission, "DELETE": e.deletePermission}),
		r(DCM, lc+"/cluster-quotas", map[string]handlerFunc{"GET": e.listQuotas, "POST": e.createQuota}),
		r(DCM, lc+"/cluster-quotas/{quota}", map[string]handlerFunc{"GET": e.getQuota, "DELETE": e.deleteQuota}),
		r(DCM, lc+"/kv-pairs", map[string]handlerFunc{"GET": e.listLCKvPairs, "POST": e.createLCKvPair}),
		r(DCM, lc+"/kv-pairs/{kv}", map[string]handlerFunc{"GET": e.getLCKvPair, "DELETE": e.deleteLCKvPair}),
	}
}

func (r route) match(segments []string) (map[string]string, bool) {
	if len(segments) != len(r.segments) {
		return nil, false
	}
	vars := map[string]string{}
	for i, pat := range r.segments {
		if strings.HasPrefix(pat, "{") {
			if segments[i] == "" {
				return nil, false
			}
			vars[strings.Trim(pat, "{}")] = segments[i]
		} else if pat != segments[i] {
			return nil, false
		}
	}
	return vars, true
}

// serviceHandler routes like gorilla/mux does in EMCO: unknown path → 404
// "404 page not found", known path with another method → 405 with no body.
func (e *Emulator) serviceHandler(only Service) http.Handler {
	var table []route
	for _, r := range e.routes() {
		if only == "" || r.service == only {
			table = append(table, r)
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		rec := &recorder{ResponseWriter: w}
		segments := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
		var (
			matched *route
			vars    map[string]string
		)
		for i := range table {
			if v, ok := table[i].match(segments); ok {
				matched, vars = &table[i], v
				break
			}
		}
		service := only
		if matched != nil {
			service = matched.service
		}
		defer func() { e.hooks.log(service, req, rec.status) }()
		if req.URL.Path == "/metrics" && req.Method == http.MethodGet {
			rec.Header().Set("Content-Type", "text/plain; version=0.0.4")
			_, _ = rec.Write([]byte("# emcotest: no metrics\n"))
			return
		}
		if e.hooks.intercept(rec, req, service) {
			return
		}
		switch {
		case matched == nil:
			http.NotFound(rec, req)
		case matched.methods[req.Method] == nil:
			rec.WriteHeader(http.StatusMethodNotAllowed)
		default:
			e.mu.Lock()
			defer e.mu.Unlock()
			matched.methods[req.Method](rec, req, vars)
		}
	})
}

// recorder remembers the status for the request log.
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func itoa(i int) string { return strconv.Itoa(i) }
