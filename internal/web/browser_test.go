package web_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/internal/web/browsertest"
)

// A real browser loads the logical-cluster page, finds the members, waves and versions in
// the DOM, and sees a status change arrive without a reload.
func TestBrowserShowsTheLogicalClusterLive(t *testing.T) {
	ctx := browsertest.New(t, browsertest.Chromium(t), 1280, 1000)
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute) // a bound for a hung browser, not a speed check
	defer cancelTimeout()

	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(page.URL+"/logicalclusters/edge/mec-cluster"),
		chromedp.WaitVisible(chromedp.CSS(`#live.on`)), // the event stream is open
	))
	members, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll(".member")).map(e => e.dataset.name)`))
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"central-cluster", "seoul-edge-cluster", "busan-edge-cluster", "gwangju-edge-cluster"}, members)
	waves, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("[data-wave]")).map(e => e.dataset.wave)`))
	require.NoError(t, err)
	assert.Equal(t, []string{"0", "1", "2"}, waves)
	seoulCP, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-name="seoul-edge-cluster"] .cp-version`)))
	require.NoError(t, err)
	assert.Equal(t, "v1.31.0", seoulCP)
	seoulWorkers, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-name="seoul-edge-cluster"] .worker-version`)))
	require.NoError(t, err)
	assert.Equal(t, "v1.30.4", seoulWorkers)
	_, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`window.notReloaded = true`))
	require.NoError(t, err)

	dir := browsertest.ScreenshotDir(t)
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(80))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "logicalcluster.jpg"), shot, 0o644))

	// A status change reaches the open page by itself.
	require.NoError(t, retry.RetryOnConflict(retry.DefaultRetry, func() error {
		c := &automationv1alpha1.Cluster{}
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: "edge", Name: "gwangju-edge-cluster"}, c); err != nil {
			return err
		}
		c.Status.ControlPlaneVersion = "v1.31.7"
		return env.Client.Status().Update(ctx, c)
	}))
	require.NoError(t, chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.Search(`//div[@data-name="gwangju-edge-cluster"]//dd[@class="cp-version" and text()="v1.31.7"]`))))
	notReloaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.notReloaded === true`))
	require.NoError(t, err)
	assert.True(t, notReloaded, "the update came without a reload")

	for name, path := range map[string]string{"overview.jpg": "/", "cluster.jpg": "/clusters/edge/central-cluster"} {
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(page.URL+path), chromedp.WaitVisible(chromedp.CSS(`#page`))))
		shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(80))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), shot, 0o644))
	}
	t.Logf("screenshots in %s", dir)
}
