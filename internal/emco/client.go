package emco

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Service names one EMCO REST service.
type Service string

// The services L-KaaS talks to.
const (
	Orchestrator Service = "orchestrator"
	CLM          Service = "clm"
	DCM          Service = "dcm"
)

// Endpoints are the base URLs of the services (scheme, host, port and an
// optional path prefix, without /v2).
type Endpoints struct {
	Orchestrator string
	CLM          string
	DCM          string
}

// SingleEndpoint routes every service through one ingress URL, as emcoctl's
// "ingress" setting does.
func SingleEndpoint(url string) Endpoints {
	return Endpoints{Orchestrator: url, CLM: url, DCM: url}
}

// Options configure a Client.
type Options struct {
	Endpoints Endpoints
	// BearerToken is sent as "Authorization: Bearer …" when set. It never
	// appears in errors or logs.
	BearerToken string
	// CABundle is PEM data trusted for the services' TLS certificates, in
	// addition to nothing else (system roots are not used when it is set).
	CABundle []byte
	// Timeout bounds one attempt (request and body). Zero means 30s.
	Timeout time.Duration
	Retry   RetryPolicy
	// HTTPClient replaces the default client; CABundle is then ignored.
	HTTPClient *http.Client
	// Logger receives one debug line per attempt (method, path, status). Nil is silent.
	Logger *slog.Logger
	// Observe is called once per attempt, e.g. to count calls by service and code.
	Observe func(Call)
}

// Call describes one attempt, for metrics.
type Call struct {
	Service    Service
	Method     string
	Path       string
	StatusCode int // 0 when no answer arrived
	Attempt    int
	Duration   time.Duration
	Err        error // transport error, if any
}

// Client talks to one EMCO installation. It is safe for concurrent use.
type Client struct {
	bases   map[Service]string
	token   string
	timeout time.Duration
	retry   RetryPolicy
	http    *http.Client
	log     *slog.Logger
	observe func(Call)
}

// New checks the options and builds a Client.
func New(opts Options) (*Client, error) {
	bases := map[Service]string{
		Orchestrator: opts.Endpoints.Orchestrator,
		CLM:          opts.Endpoints.CLM,
		DCM:          opts.Endpoints.DCM,
	}
	for svc, base := range bases {
		if base == "" {
			return nil, fmt.Errorf("emco: no URL for the %s service", svc)
		}
		u, err := url.Parse(base)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("emco: %s URL %q must be an absolute http(s) URL", svc, base)
		}
		bases[svc] = strings.TrimRight(base, "/")
	}
	httpClient := opts.HTTPClient
	if httpClient == nil {
		transport := http.DefaultTransport.(*http.Transport).Clone()
		if len(opts.CABundle) > 0 {
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(opts.CABundle) {
				return nil, errors.New("emco: CA bundle holds no PEM certificate")
			}
			transport.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		}
		httpClient = &http.Client{Transport: transport}
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	return &Client{
		bases:   bases,
		token:   opts.BearerToken,
		timeout: timeout,
		retry:   opts.Retry.withDefaults(),
		http:    httpClient,
		log:     opts.Logger,
		observe: opts.Observe,
	}, nil
}

// request is one logical call; do may send it several times.
type request struct {
	service     Service
	method      string
	path        string
	query       url.Values
	accept      string
	contentType string
	body        []byte
	secrets     redactor // extra secrets besides the token (kubeconfigs)
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// maxResponseBody guards against a misbehaving server; kubeconfigs are far smaller.
const maxResponseBody = 32 << 20

// do sends req, retrying 5xx answers and connection errors with exponential
// backoff. Any non-2xx final answer becomes an *APIError.
func (c *Client) do(ctx context.Context, req request) (*response, error) {
	secrets := append(redactor{[]byte(c.token)}, req.secrets...)
	var lastErr error
	for attempt := 1; ; attempt++ {
		resp, err := c.attempt(ctx, req, attempt, secrets)
		switch {
		case err == nil && resp.status < 300:
			return resp, nil
		case err == nil:
			lastErr = newAPIError(req.method, req.path, resp.status, resp.body, secrets)
			if !retryableStatus(resp.status) {
				return nil, lastErr
			}
		case ctx.Err() != nil:
			return nil, fmt.Errorf("emco: %s %s: %w", req.method, req.path, ctx.Err())
		default:
			lastErr = err
		}
		if attempt >= c.retry.MaxAttempts {
			return nil, fmt.Errorf("%w (gave up after %d attempts)", lastErr, attempt)
		}
		if err := c.retry.Sleep(ctx, c.retry.Backoff(attempt)); err != nil {
			return nil, fmt.Errorf("%w (retry interrupted: %v)", lastErr, err)
		}
	}
}

func (c *Client) attempt(ctx context.Context, req request, attempt int, secrets redactor) (*response, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	target := c.bases[req.service] + req.path
	if len(req.query) > 0 {
		target += "?" + req.query.Encode()
	}
	var body io.Reader
	if req.body != nil {
		body = bytes.NewReader(req.body)
	}
	httpReq, err := http.NewRequestWithContext(ctx, req.method, target, body)
	if err != nil {
		return nil, fmt.Errorf("emco: %s %s: %w", req.method, req.path, err)
	}
	if req.accept != "" {
		httpReq.Header.Set("Accept", req.accept)
	}
	if req.contentType != "" {
		httpReq.Header.Set("Content-Type", req.contentType)
	}
	if c.token != "" {
		httpReq.Header.Set("Authorization", "Bearer "+c.token)
	}

	start := time.Now()
	resp, err := c.http.Do(httpReq)
	var out *response
	if err == nil {
		var data []byte
		data, err = io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
		_ = resp.Body.Close()
		out = &response{status: resp.StatusCode, header: resp.Header, body: data}
	}
	if err != nil {
		// url.Error carries the URL without credentials; scrub anyway in case a
		// proxy or server echoed something sensitive into the message.
		err = fmt.Errorf("emco: %s %s: %s", req.method, req.path, secrets.string(err.Error()))
	}
	c.record(Call{Service: req.service, Method: req.method, Path: req.path, Attempt: attempt,
		Duration: time.Since(start), Err: err, StatusCode: statusOf(out)})
	return out, err
}

func statusOf(r *response) int {
	if r == nil {
		return 0
	}
	return r.status
}

func (c *Client) record(call Call) {
	if c.observe != nil {
		c.observe(call)
	}
	if c.log != nil {
		attrs := []any{"service", call.Service, "method", call.Method, "path", call.Path,
			"status", call.StatusCode, "attempt", call.Attempt, "duration", call.Duration}
		if call.Err != nil {
			attrs = append(attrs, "error", call.Err.Error())
		}
		c.log.Debug("emco call", attrs...)
	}
}

// getJSON reads a resource into out.
func (c *Client) getJSON(ctx context.Context, svc Service, path string, query url.Values, out any) error {
	resp, err := c.do(ctx, request{service: svc, method: http.MethodGet, path: path, query: query, accept: "application/json"})
	if err != nil {
		return err
	}
	return decode(resp, http.MethodGet, path, out)
}

// sendJSON writes in with method and decodes the answer into out when out is non-nil.
func (c *Client) sendJSON(ctx context.Context, svc Service, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("emco: %s %s: encoding body: %w", method, path, err)
		}
	}
	req := request{service: svc, method: method, path: path, accept: "application/json", body: body}
	if body != nil {
		req.contentType = "application/json"
	}
	resp, err := c.do(ctx, req)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	return decode(resp, method, path, out)
}

func (c *Client) delete(ctx context.Context, svc Service, path string) error {
	_, err := c.do(ctx, request{service: svc, method: http.MethodDelete, path: path, accept: "application/json"})
	return err
}

// decode tolerates an empty body and "null" (EMCO's empty list on some endpoints).
func decode(resp *response, method, path string, out any) error {
	if len(bytes.TrimSpace(resp.body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(resp.body, out); err != nil {
		return fmt.Errorf("emco: %s %s: decoding answer: %w", method, path, err)
	}
	return nil
}

// p builds a /v2 path from segments, escaping each one.
func p(segments ...string) string {
	var b strings.Builder
	b.WriteString("/v2")
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}
