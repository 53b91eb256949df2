package web_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
)

func get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(page.URL + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

// section returns the HTML from the element carrying marker up to the next sibling of the
// same class, so a test can say "this member is drawn in this site".
func section(t *testing.T, body, marker, next string) string {
	t.Helper()
	i := strings.Index(body, marker)
	require.GreaterOrEqual(t, i, 0, "no %q in the page", marker)
	rest := body[i+len(marker):]
	for _, end := range []string{next, "</section>"} {
		if j := strings.Index(rest, end); j >= 0 {
			rest = rest[:j]
		}
	}
	return rest
}

func TestPagesShowWhatTheyMust(t *testing.T) {
	tests := []struct {
		name, path string
		status     int
		want       []string
		wantNot    []string
	}{
		{
			name: "overview lists fleets, revisions, phases, last status commit", path: "/", status: 200,
			want: []string{`data-name="edge/edge"`, "main@sha1:" + sha("edge-rev")[:12], "Ready 1", "Upgrading 1", "Failed 1",
				sha("status-commit-1")[:12], `data-name="other/tenant-b"`, `data-name="edge/mec-cluster"`, "1/4", "other/lonely"},
			wantNot: []string{"Pending 0", `data-name="edge/central-cluster"`},
		},
		{
			name: "overview puts what needs attention first", path: "/", status: 200,
			want: []string{"validation failed", "tenants/edge/mec.yaml:12:5: Cluster/x: spec.clusterCatalog", "deletion held",
				"rollout halted", "daejeon-edge was not Available", "EMCO error", "EMCOUnavailable: EMCO at central did not answer"},
		},
		{
			name: "namespace scope shows one tenant", path: "/?namespace=other", status: 200,
			want:    []string{`data-name="other/tenant-b"`, "other/lonely", `href="/clusters/other/lonely?namespace=other"`},
			wantNot: []string{"edge/edge", "mec-cluster", "validation failed"},
		},
		{
			name: "logical cluster: waves, the member in flight and the one waiting", path: "/logicalclusters/edge/mec-cluster", status: 200,
			want: []string{`data-wave="0"`, `data-wave="1"`, `data-wave="2"`, "in flight: <b>seoul-edge-cluster</b>",
				"waiting: busan-edge-cluster (maxUnavailable reached)", `data-wave="2">` + "\n<b>wave 2</b> <span class=\"pill busy\">waiting</span>", "Instantiated", "dcn&#43;central-cluster"},
		},
		{
			name: "cluster: ladder, CAPI objects, add-ons, EMCO, events", path: "/clusters/edge/central-cluster", status: 200,
			want: []string{`data-type="InfrastructureReady"`, `data-type="ControlPlaneAvailable"`, "NotReported", `<td>Cluster</td><td>central-cluster</td>`,
				"calico", "ClusterResourceSet calico-v1", "dcn+x", "applied 7 Cluster API objects", "present (not shown here)",
				`href="/logicalclusters/edge/mec-cluster"`, "v1.31.0"},
		},
		{
			name: "history: status commits linked to the source revision", path: "/fleets/edge/edge/history", status: 200,
			want: []string{"lkaas/status", `class="commit"`, "main@sha1:" + sha("edge-rev")[:12], "https://github.com/dcn-ssu/fleet/commit/" + sha("edge-rev")},
		},
		{name: "unknown cluster", path: "/clusters/edge/nope", status: 404},
		{name: "a scoped view does not open another namespace", path: "/clusters/edge/central-cluster?namespace=other", status: 404},
		{name: "static assets are embedded", path: "/static/live.js", status: 200, want: []string{"EventSource"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := get(t, tc.path)
			require.Equal(t, tc.status, status, body)
			for _, w := range tc.want {
				assert.Contains(t, body, w)
			}
			for _, w := range tc.wantNot {
				assert.NotContains(t, body, w)
			}
		})
	}
}

func TestLogicalClusterDrawsMembersAsSites(t *testing.T) {
	_, body := get(t, "/logicalclusters/edge/mec-cluster")
	seoul := section(t, body, `data-location="kr-seoul"`, `class="site"`)
	assert.Contains(t, seoul, `data-name="central-cluster"`)
	assert.Contains(t, seoul, `data-name="seoul-edge-cluster"`)
	assert.NotContains(t, seoul, "busan")
	busan := section(t, body, `data-location="kr-busan"`, `class="site"`)
	assert.Contains(t, busan, `data-name="busan-edge-cluster"`)

	seoulEdge := section(t, body, `data-name="seoul-edge-cluster"`, `class="member"`)
	assert.Contains(t, seoulEdge, `<dd class="cp-version">v1.31.0</dd>`)
	assert.Contains(t, seoulEdge, `<dd class="worker-version">v1.30.4</dd>`)
	assert.Contains(t, seoulEdge, "in flight")
	assert.Contains(t, seoulEdge, "calico")
}

// No page, asset or stream shows Secret data, even for the cluster whose kubeconfig Secret
// holds a recognisable token.
func TestNoSecretDataOnAnyPage(t *testing.T) {
	for _, path := range []string{"/", "/?namespace=edge", "/logicalclusters/edge/mec-cluster", "/clusters/edge/central-cluster",
		"/fleets/edge/edge/history", "/clusters/edge/seoul-edge-cluster"} {
		_, body := get(t, path)
		assert.NotContains(t, body, plantedSecret, path)
		assert.NotContains(t, body, "token:", path)
	}
}

func TestReadOnly(t *testing.T) {
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		req, err := http.NewRequest(method, page.URL+"/clusters/edge/central-cluster", strings.NewReader("{}"))
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode, method)
		assert.Equal(t, "GET, HEAD", resp.Header.Get("Allow"))
	}
	resp, err := http.Head(page.URL + "/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

// Page views are served from the informer cache: once each kind's informer exists, viewing
// every page again sends no GET or LIST to the API server.
func TestPageViewsSendNoRequestToTheAPIServer(t *testing.T) {
	paths := []string{"/", "/?namespace=edge", "/logicalclusters/edge/mec-cluster", "/clusters/edge/central-cluster", "/fleets/edge/edge/history"}
	for _, p := range paths { // the first view of a kind starts its informer (one LIST + WATCH)
		status, _ := get(t, p)
		require.Equal(t, 200, status, p)
	}
	before := reads(t)
	for range 10 {
		for _, p := range paths {
			get(t, p)
		}
	}
	assert.Equal(t, before, reads(t), "GET/LIST requests during 50 page views")
}

var pageGroups = map[string]bool{"automation.dcn.ssu.ac.kr": true, "intent.automation.dcn.ssu.ac.kr": true,
	"cluster.x-k8s.io": true, "controlplane.cluster.x-k8s.io": true, "events.k8s.io": true,
	"source.toolkit.fluxcd.io": true}

func reads(t *testing.T) float64 {
	t.Helper()
	reqs, err := env.APIRequests()
	require.NoError(t, err)
	var n float64
	for _, r := range reqs {
		// The kinds a page reads (and Secrets, which it must never read); the API server's
		// own loopback clients (leases, endpoints) are not the page's doing.
		if (r.Verb == "GET" || r.Verb == "LIST") && (pageGroups[r.Group] || r.Resource == "secrets" || r.Resource == "events") {
			n += r.Count
		}
	}
	return n
}

// An open page hears of a status change through its event stream.
func TestLiveUpdateArrivesOnStatusChange(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, page.URL+"/events?namespace=edge", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))

	events := make(chan string, 16)
	go func() {
		s := bufio.NewScanner(resp.Body)
		for s.Scan() {
			if strings.HasPrefix(s.Text(), "event: ") {
				events <- s.Text()
			}
		}
		close(events)
	}()

	busan := &automationv1alpha1.Cluster{}
	require.NoError(t, retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: "edge", Name: "busan-edge-cluster"}, busan); err != nil {
			return err
		}
		busan.Status.ControlPlaneVersion = "v1.31.0"
		return env.Client.Status().Update(ctx, busan)
	}))
	select {
	case ev := <-events:
		assert.Equal(t, "event: change", ev)
	case <-time.After(30 * time.Second): // a bound for a broken stream, not a speed check
		t.Fatal("no change event after a status change")
	}
	require.Eventually(t, func() bool {
		_, body := get(t, "/logicalclusters/edge/mec-cluster")
		busan := section(t, body, `data-name="busan-edge-cluster"`, `class="member"`)
		return strings.Contains(busan, `<dd class="cp-version">v1.31.0</dd>`)
	}, 30*time.Second, 50*time.Millisecond)
}
