package render

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
)

// releaseServer serves tinyTemplate at the GitHub releases layout and counts requests.
func releaseServer(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch r.URL.Path {
		case "/releases/download/v0.7.0/cluster-template.yaml":
			_, _ = w.Write([]byte(tinyTemplate))
		case "/releases/download/v0.7.0/huge.yaml":
			_, _ = w.Write([]byte(strings.Repeat("#", 2048)))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func TestHTTPFetcherFetchesOnceAndCachesOnDisk(t *testing.T) {
	srv, hits := releaseServer(t)
	cache := t.TempDir()
	url := srv.URL + "/releases/download/v0.7.0/cluster-template.yaml"
	digest := contentDigest([]byte(tinyTemplate))

	f := NewHTTPFetcher(cache, srv.Client())
	for i := 0; i < 3; i++ {
		b, err := f.Fetch(context.Background(), url, digest)
		require.NoError(t, err)
		assert.Equal(t, tinyTemplate, string(b))
	}
	assert.Equal(t, int32(1), hits.Load(), "fetched once, then served from memory")

	// A new fetcher (a restarted controller) finds it on disk.
	again := NewHTTPFetcher(cache, srv.Client())
	_, err := again.Fetch(context.Background(), url, digest)
	require.NoError(t, err)
	assert.Equal(t, int32(1), hits.Load(), "served from the disk cache")
}

func TestHTTPFetcherRefusesWhatItCannotTrust(t *testing.T) {
	srv, _ := releaseServer(t)
	base := srv.URL + "/releases/download/v0.7.0/"
	wrong := "sha256:" + strings.Repeat("a", 64)

	f := &HTTPFetcher{Client: srv.Client(), CacheDir: t.TempDir(), MaxBytes: 1024}
	_, err := f.Fetch(context.Background(), base+"cluster-template.yaml", wrong)
	assert.EqualError(t, err, "template "+base+"cluster-template.yaml: digest mismatch: the profile pins "+wrong+
		", the content is "+contentDigest([]byte(tinyTemplate)))

	_, err = f.Fetch(context.Background(), base+"huge.yaml", "")
	assert.EqualError(t, err, "template "+base+"huge.yaml: larger than the limit of 1024 bytes")

	_, err = f.Fetch(context.Background(), base+"missing.yaml", "")
	assert.EqualError(t, err, "template "+base+"missing.yaml: HTTP 404 Not Found")
}

func TestRenderUsesTheHTTPFetcherForURLTemplates(t *testing.T) {
	srv, hits := releaseServer(t)
	r := NewRenderer(Options{Fetcher: NewHTTPFetcher(t.TempDir(), srv.Client())})
	for i := 0; i < 2; i++ {
		plan := seedClusterSamplePlan()
		plan.Network, plan.Software = nil, nil
		plan.Infrastructure.Template = &automationv1alpha1.TemplateSource{
			URL: srv.URL + "/releases", Version: "v0.7.0", Filename: "cluster-template.yaml",
		}
		res, err := r.Render(plan)
		require.NoError(t, err)
		assert.Equal(t, "v1.25.0", res.Objects[0].Object["spec"].(map[string]any)["topology"].(map[string]any)["version"])
	}
	assert.Equal(t, int32(1), hits.Load())
}
