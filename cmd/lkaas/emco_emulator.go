package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/dcn-ssu/lkaas/internal/emco/emcotest"
)

// emulatorReady starts the line the emco-emulator command prints once it is listening.
const emulatorReady = "EMCO emulator serving on "

type emulatorOptions struct {
	listen    string
	split     bool
	tokenFile string
	verbose   bool
}

func newEMCOEmulatorCommand() *cobra.Command {
	var opts emulatorOptions
	cmd := &cobra.Command{
		Use:   "emco-emulator",
		Short: "Serve an in-memory emulation of EMCO's REST API (orchestrator, clm, dcm)",
		Long: `emco-emulator serves the EMCO emulator the tests use (internal/emco/emcotest) as a
process, for the demo and for trying a Fleet without a real EMCO. State lives in memory
and is lost when it stops (Ctrl-C or SIGTERM).

By default one address serves every service, like an ingress in front of EMCO: put the
printed URL in the Fleet's spec.emco.endpoints[].url. With --split, orchestrator, clm and
dcm listen on three consecutive ports starting at the --listen port (any free ports when
it is 0): put the printed URLs in orchestratorURL, clmURL and dcmURL.

Once listening it prints a line starting "` + emulatorReady + `" followed by the
endpoint fields. With --token-file every request must carry "Authorization: Bearer
<token>" (the file's content, surrounding whitespace trimmed) or is answered 401; the
token is never printed.`,
		Example: `  # every service on one URL
  lkaas emco-emulator
  # EMCO emulator serving on http://127.0.0.1:9015
  #   url: http://127.0.0.1:9015

  # orchestrator, clm and dcm on 9015, 9016, 9017; require a bearer token; log requests
  echo s3cret > /tmp/emco-token
  lkaas emco-emulator --split --token-file /tmp/emco-token --verbose`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runEMCOEmulator(ctx, opts, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.listen, "listen", "127.0.0.1:9015", "Address (host:port) to listen on; port 0 picks a free port.")
	f.BoolVar(&opts.split, "split", false, "Serve orchestrator, clm and dcm on their own ports: the --listen port and the next two.")
	f.StringVar(&opts.tokenFile, "token-file", "", "Require \"Authorization: Bearer <token>\" with the token read from this file.")
	f.BoolVarP(&opts.verbose, "verbose", "v", false, "Log one line per request (method, path, status) to stderr.")
	return cmd
}

// emulatorListener is one address the emulator serves and what it serves there.
type emulatorListener struct {
	field   string // the Fleet endpoint field its URL goes in
	handler http.Handler
	ln      net.Listener
}

func runEMCOEmulator(ctx context.Context, opts emulatorOptions, stdout, stderr io.Writer) error {
	host, portText, err := net.SplitHostPort(opts.listen)
	if err != nil {
		return usageError{fmt.Errorf("--listen %q: %w", opts.listen, err)}
	}
	maxPort := 65535
	if opts.split {
		maxPort -= 2 // clm and dcm take the next two ports
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 0 || port > maxPort {
		return usageError{fmt.Errorf("--listen %q: port must be a number from 0 to %d", opts.listen, maxPort)}
	}
	var token string
	if opts.tokenFile != "" {
		data, err := os.ReadFile(opts.tokenFile)
		if err != nil {
			return fmt.Errorf("reading --token-file: %w", err)
		}
		if token = strings.TrimSpace(string(data)); token == "" {
			return fmt.Errorf("--token-file %s is empty", opts.tokenFile)
		}
	}

	emu := emcotest.New()
	listeners := []*emulatorListener{{field: "url", handler: emu.Handler()}}
	if opts.split {
		listeners = []*emulatorListener{
			{field: "orchestratorURL", handler: emu.ServiceHandler(emcotest.Orchestrator)},
			{field: "clmURL", handler: emu.ServiceHandler(emcotest.CLM)},
			{field: "dcmURL", handler: emu.ServiceHandler(emcotest.DCM)},
		}
	}
	var logger *log.Logger
	if opts.verbose {
		logger = log.New(stderr, "", log.LstdFlags)
	}
	defer func() {
		for _, l := range listeners {
			if l.ln != nil {
				_ = l.ln.Close()
			}
		}
	}()
	for i, l := range listeners {
		p := port
		if port != 0 {
			p += i
		}
		if l.ln, err = net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(p))); err != nil {
			return err
		}
		if token != "" {
			l.handler = emcotest.RequireBearerToken(token, l.handler)
		}
		if logger != nil {
			l.handler = logRequests(logger, l.handler)
		}
	}

	urls := make([]string, len(listeners))
	var fields strings.Builder
	for i, l := range listeners {
		urls[i] = listenerURL(l.ln.Addr())
		fmt.Fprintf(&fields, "  %s: %s\n", l.field, urls[i])
	}
	ready := emulatorReady + strings.Join(urls, ", ")
	if opts.split {
		ready += " (orchestrator, clm, dcm)"
	}
	if _, err := fmt.Fprintf(stdout, "%s\n%s", ready, fields.String()); err != nil {
		return err
	}

	servers := make([]*http.Server, len(listeners))
	errs := make(chan error, len(listeners))
	for i, l := range listeners {
		servers[i] = &http.Server{Handler: l.handler, ReadHeaderTimeout: 10 * time.Second}
		go func(srv *http.Server, ln net.Listener) { errs <- srv.Serve(ln) }(servers[i], l.ln)
	}
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errs:
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	for _, srv := range servers {
		if err := srv.Shutdown(shutdownCtx); err != nil && serveErr == nil {
			serveErr = err
		}
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	fmt.Fprintln(stderr, "EMCO emulator stopped")
	return nil
}

// listenerURL is the http URL of a listener; an unspecified host (0.0.0.0, ::)
// becomes 127.0.0.1 so the URL can be used as printed on this machine.
func listenerURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// logRequests logs one line per request: method, path and status.
func logRequests(logger *log.Logger, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK // net/http answers 200 for a handler that wrote nothing
		}
		logger.Printf("%s %s %d", r.Method, r.URL.Path, rec.status)
	})
}

// statusRecorder remembers the status of an answer.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
