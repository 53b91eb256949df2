package apply

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"k8s.io/client-go/rest"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
)

// apiRequests are the API server's own counts of requests on the L-KaaS kinds, from
// apiserver_request_total: what the server saw, whatever client sent it.
type apiRequests struct {
	Reads, Writes, DryRuns int
}

func (r apiRequests) sub(before apiRequests) apiRequests {
	return apiRequests{Reads: r.Reads - before.Reads, Writes: r.Writes - before.Writes, DryRuns: r.DryRuns - before.DryRuns}
}

var lkaasGroups = map[string]bool{
	automationv1alpha1.GroupVersion.Group: true,
	intentv1.GroupVersion.Group:           true,
}

// readAPIRequests scrapes /metrics. Server-side apply is counted under verb="APPLY" and dry
// runs carry a dry_run label, so writes are every verb but GET, LIST and WATCH, and a dry run
// is any request with a dry_run value.
func readAPIRequests(t testing.TB) apiRequests {
	t.Helper()
	httpClient, err := rest.HTTPClientFor(env.Config)
	require.NoError(t, err)
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, strings.TrimSuffix(env.Config.Host, "/")+"/metrics", nil)
	require.NoError(t, err)
	resp, err := httpClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	return parseAPIRequests(t, body)
}

func parseAPIRequests(t testing.TB, body []byte) apiRequests {
	var r apiRequests
	scanner := bufio.NewScanner(bytes.NewReader(body))
	scanner.Buffer(make([]byte, 1<<20), 1<<20)
	for scanner.Scan() {
		line := scanner.Text()
		rest, ok := strings.CutPrefix(line, "apiserver_request_total{")
		if !ok {
			continue
		}
		labelText, valueText, ok := strings.Cut(rest, "} ")
		require.True(t, ok, line)
		value, err := strconv.ParseFloat(valueText, 64)
		require.NoError(t, err, line)
		labels := parseLabels(labelText)
		if !lkaasGroups[labels["group"]] {
			continue
		}
		n := int(value)
		switch {
		case labels["dry_run"] != "":
			r.DryRuns += n
		case labels["verb"] == "GET" || labels["verb"] == "LIST" || labels["verb"] == "WATCH":
			r.Reads += n
		default:
			r.Writes += n
		}
	}
	require.NoError(t, scanner.Err())
	return r
}

// parseLabels reads `a="x",b="y"`; the API server's label values hold no quotes or commas.
func parseLabels(s string) map[string]string {
	labels := map[string]string{}
	for _, pair := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(pair, "=")
		if ok {
			labels[k] = strings.Trim(v, `"`)
		}
	}
	return labels
}
