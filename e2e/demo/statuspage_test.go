//go:build e2e

package demo

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcn-ssu/lkaas/internal/web/browsertest"
)

// mecMembers are the mec-cluster's centre and edges, as the demo's repository names them.
var mecMembers = []string{"central-cluster", "seoul-edge-cluster", "busan-edge-cluster", "gwangju-edge-cluster"}

const mecPage = "/logicalclusters/edge/mec-cluster"

// statusPage follows the page `lkaas demo` prints, as a person with a browser would: over
// plain HTTP always, and in headless Chromium when there is one (required in CI), which
// keeps the page open so that the rollout reaches it live, and saves screenshots.
type statusPage struct {
	t       *testing.T
	url     string
	browser context.Context // nil without Chromium
}

func openStatusPage(t *testing.T, demoOutput string) *statusPage {
	t.Helper()
	m := regexp.MustCompile(`==> status page \(read-only, live\): (http://\S+)`).FindStringSubmatch(demoOutput)
	require.Len(t, m, 2, "the demo prints the status page's URL")
	p := &statusPage{t: t, url: m[1]}
	if path, ok := browsertest.Find(); ok {
		p.browser = browsertest.New(t, path, 1100, 900)
	} else if browsertest.Required() {
		browsertest.Chromium(t) // fails, saying how to install it
	} else {
		t.Log("Chromium is missing (hack/chromium.sh installs it): checking the status page over HTTP only, no screenshots")
	}
	return p
}

// member is what the logical-cluster page says of one member.
type member struct{ Phase, ControlPlane, Workers string }

var (
	memberBlock = regexp.MustCompile(`(?s)<div class="member" data-name="([^"]+)">.*?<span class="pill [a-z]+">([^<]+)</span>.*?<dd class="cp-version">([^<]+)</dd>.*?<dd class="worker-version">([^<]+)</dd>`)
	rollingWave = regexp.MustCompile(`(?s)<li class="wave busy" data-wave="(\d+)">\s*<b>wave \d+</b> <span class="pill busy">rolling</span>[^\n]*\n<div>in flight: <b>([^<]+)</b></div>`)
)

// get fetches a path of the page over HTTP.
func (p *statusPage) get(path string) string {
	p.t.Helper()
	resp, err := http.Get(p.url + path)
	require.NoError(p.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(p.t, err)
	require.Equal(p.t, http.StatusOK, resp.StatusCode, "%s: %s", path, body)
	return string(body)
}

// members reads the members drawn on the mec-cluster's page.
func (p *statusPage) members() map[string]member {
	out := map[string]member{}
	for _, m := range memberBlock.FindAllStringSubmatch(p.get(mecPage), -1) {
		out[m[1]] = member{Phase: m[2], ControlPlane: m[3], Workers: m[4]}
	}
	return out
}

// checkReady: with the logical cluster Ready, its page draws the four members Ready on
// version; the browser opens it and stays on it.
func (p *statusPage) checkReady(version string) {
	t := p.t
	t.Helper()
	want := map[string]member{}
	for _, name := range mecMembers {
		want[name] = member{Phase: "Ready", ControlPlane: version, Workers: version}
	}
	assert.Equal(t, want, p.members(), "the mec-cluster's page, over HTTP")
	if p.browser == nil {
		return
	}
	ctx, cancel := context.WithTimeout(p.browser, 2*time.Minute) // a bound for a hung browser, not a speed check
	defer cancel()
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(p.url+mecPage),
		chromedp.WaitVisible(chromedp.CSS(`#live.on`)), // the event stream is open
	))
	names, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll(".member")).map(e => e.dataset.name)`))
	require.NoError(t, err)
	assert.ElementsMatch(t, mecMembers, names, "the members in the browser's DOM")
	_, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`window.notReloaded = true`))
	require.NoError(t, err)
	p.screenshot(ctx, "demo-mec-cluster-ready.png")
}

// checkRolling: after the upgrade's push, the page shows a wave rolling with a member in
// flight, the other members still on from; in the browser it arrives without a reload.
func (p *statusPage) checkRolling(from, to string) {
	t := p.t
	t.Helper()
	var wave, inFlight string
	deadline := time.Now().Add(3 * time.Minute) // a bound for a stuck rollout, not a speed check
	for wave == "" && time.Now().Before(deadline) {
		if m := rollingWave.FindStringSubmatch(p.get(mecPage)); m != nil {
			wave, inFlight = m[1], m[2]
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	require.NotEmpty(t, wave, "the mec-cluster's page never showed a wave rolling with a member in flight")
	t.Logf("status page: wave %s rolling, in flight: %s", wave, inFlight)
	members := p.members()
	require.Len(t, members, len(mecMembers))
	for name, m := range members {
		assert.Contains(t, []string{from, to}, m.ControlPlane, "%s's control-plane version", name)
	}
	if p.browser == nil {
		return
	}
	ctx, cancel := context.WithTimeout(p.browser, 3*time.Minute)
	defer cancel()
	require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.Search(
		`//li[contains(@class,"wave") and .//span[text()="rolling"]]/div[starts-with(normalize-space(.),"in flight:")]`))))
	notReloaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.notReloaded === true`))
	require.NoError(t, err)
	assert.True(t, notReloaded, "the rollout reached the open page without a reload")
	p.screenshot(ctx, "demo-mec-cluster-rolling.png")
}

// checkHistory: the Fleet's history page lists the status branch's commits, each with the
// source revision that caused it (text: the demo's Git server is no forge).
func (p *statusPage) checkHistory() {
	t := p.t
	t.Helper()
	body := p.get("/fleets/edge/edge/history")
	assert.Contains(t, body, "on branch <code>lkaas/status</code>")
	rows := regexp.MustCompile(`<tr class="commit" data-commit="[0-9a-f]{40}">.*?<td class="revision"><code title="(main@sha1:[0-9a-f]{40})">`).FindAllStringSubmatch(body, -1)
	assert.NotEmpty(t, rows, "status commits with their source revisions:\n%s", body)
}

func (p *statusPage) screenshot(ctx context.Context, name string) {
	p.t.Helper()
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	require.NoError(p.t, err)
	path := filepath.Join(browsertest.ScreenshotDir(p.t), name)
	require.NoError(p.t, os.WriteFile(path, shot, 0o644))
	p.t.Logf("screenshot: %s (%d KB)", path, len(shot)/1024)
}
