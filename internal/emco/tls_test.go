package emco_test

import (
	"context"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcn-ssu/lkaas/internal/emco"
	"github.com/dcn-ssu/lkaas/internal/emco/emcotest"
)

func startPlain(t *testing.T, h http.Handler) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestClientTrustsTheGivenCABundle(t *testing.T) {
	emu := emcotest.New()
	srv := httptest.NewUnstartedServer(emu.Handler())
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusted handshake below is expected to fail
	srv.StartTLS()
	t.Cleanup(srv.Close)
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})

	trusted, err := emco.New(emco.Options{Endpoints: emco.SingleEndpoint(srv.URL), CABundle: caPEM})
	require.NoError(t, err)
	_, err = trusted.ListProjects(context.Background())
	assert.NoError(t, err)

	untrusted, err := emco.New(emco.Options{Endpoints: emco.SingleEndpoint(srv.URL), Retry: emco.RetryPolicy{MaxAttempts: 1}})
	require.NoError(t, err)
	_, err = untrusted.ListProjects(context.Background())
	assert.ErrorContains(t, err, "certificate")
}
