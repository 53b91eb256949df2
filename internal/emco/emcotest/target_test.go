package emcotest_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dcn-ssu/lkaas/internal/emco/emcotest"
)

// The contract tests run against the emulator, or against a real EMCO when
// EMCO_URL names one (an ingress serving orchestrator, clm and dcm on one URL;
// EMCO_TOKEN, if set, is sent as a bearer token):
//
//	EMCO_URL=http://emco.example:30415 go test -count=1 ./internal/emco/...
//
// A real EMCO is shared and keeps its state, so in real mode every test gets
// its own names for the objects whose names are global (see fixedNames) and
// removes what it created when it ends, and checks that need emulator-only
// features (State, faults, held transitions, the request log, an empty EMCO)
// are skipped, each with its reason.

// realBase is EMCO_URL without a trailing slash; "" means the emulator.
func realBase() string { return strings.TrimRight(os.Getenv("EMCO_URL"), "/") }

// target returns where a contract test sends its requests: a fresh emulator
// and its URL, or nil and EMCO_URL. Against a real EMCO it also registers the
// removal of everything the test may have created.
func target(t *testing.T) (*emcotest.Emulator, string) {
	t.Helper()
	base := realBase()
	if base == "" {
		return emcotest.Start(t)
	}
	t.Cleanup(func() { cleanUp(t, base) })
	return nil, base
}

// skipIfReal skips a test that cannot run against a real EMCO; why says what
// it needs that only the emulator offers.
func skipIfReal(t *testing.T, why string) {
	t.Helper()
	if realBase() != "" {
		t.Skip("emulator only: " + why)
	}
}

// fixedNames are the names the step tables give to objects whose names are
// global in EMCO: projects, cluster providers and controllers. Everything else
// (clusters, labels, logical clouds, references) lives below one of these, so
// renaming these makes a test's objects its own.
var fixedNames = regexp.MustCompile(`\b(proj1|cp1|cp2|cp3|rsync)\b`)

// runID tells apart the runs of the suite against the same EMCO.
var runID = sync.OnceValue(func() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
})

// rename gives the fixed names of s (a path, body or expected body) a suffix
// unique to this test and run, consistently within the test. Against the
// emulator it returns s unchanged.
func rename(t *testing.T, s string) string {
	if realBase() == "" || s == "" {
		return s
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(t.Name()))
	suffix := "-lk" + runID() + "-" + strconv.FormatUint(uint64(h.Sum32()%(36*36*36*36)), 36)
	return fixedNames.ReplaceAllString(s, "${1}"+suffix)
}

// newRequest builds a request to u, with the bearer token of EMCO_TOKEN
// against a real EMCO.
func newRequest(t *testing.T, method, u string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	require.NoError(t, err)
	if tok := os.Getenv("EMCO_TOKEN"); tok != "" && realBase() != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return req
}

// call sends a body-less request with Accept: application/json and returns the
// status and body; status 0 means no answer.
func call(t *testing.T, method, u string) (int, []byte) {
	t.Helper()
	req := newRequest(t, method, u, nil)
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Logf("%s %s: %v", method, u, err)
		return 0, nil
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

// setUpDCM creates proj1, cp1/c1 and, on the emulator, the rsync controller
// entry that instantiate needs (contract §3). A real EMCO must already have
// that entry: the test does not register one on a shared EMCO (nor remove
// it), and is skipped when it is missing.
func setUpDCM(t *testing.T, e *emcotest.Emulator, base string) {
	t.Helper()
	if e != nil {
		run(t, base, []step{{method: "POST", path: "/v2/controllers", body: `{"metadata":{"name":"rsync"},"spec":{"host":"rsync","port":9031}}`, wantStatus: 201}})
	} else if status, body := call(t, "GET", base+"/v2/controllers/rsync"); status != http.StatusOK {
		t.Skipf("the EMCO under test has no rsync controller entry (GET /v2/controllers/rsync → %d %s); register it first (contract §3)", status, strings.TrimSpace(string(body)))
	}
	run(t, base, []step{
		{method: "POST", path: "/v2/projects", body: `{"metadata":{"name":"proj1"}}`, wantStatus: 201},
		{method: "POST", path: "/v2/cluster-providers", body: `{"metadata":{"name":"cp1"}}`, wantStatus: 201},
		{method: "POST", path: "/v2/cluster-providers/cp1/clusters", multipart: c1Meta, file: kubeconfig, wantStatus: 201},
	})
}

// inProgress are the app-context statuses of a logical cloud that rsync is
// still working on.
var inProgress = map[string]bool{"": true, "Instantiating": true, "Updating": true, "Terminating": true}

// deployedStatus reads a logical cloud's deployedStatus ("" when it has none).
func deployedStatus(t *testing.T, base, lc string) (string, error) {
	status, body := call(t, "GET", base+lc+"/status?status=deployed&output=summary")
	if status != http.StatusOK {
		return "", fmt.Errorf("status → %d %s", status, body)
	}
	var st struct {
		DeployedStatus string `json:"deployedStatus"`
	}
	if err := json.Unmarshal(body, &st); err != nil {
		return "", fmt.Errorf("status body %q: %w", body, err)
	}
	return st.DeployedStatus, nil
}

// settleTimeout bounds the wait for a real EMCO to finish an instantiate,
// update or terminate.
const settleTimeout = 2 * time.Minute

// awaitSettled polls the status of the logical cloud at path lc until rsync
// has finished with it and reports an error unless it ended in one of want.
// The emulator settles at once (without HoldTransitions); a real EMCO records
// the request at once but reports the progress of the work in /status
// (contract §4.3).
func awaitSettled(t *testing.T, base, lc string, want []string) {
	t.Helper()
	deadline := time.Now().Add(settleTimeout)
	for {
		got, err := deployedStatus(t, base, lc)
		if err == nil && !inProgress[got] {
			for _, w := range want {
				if got == w {
					return
				}
			}
			t.Errorf("%s settled as deployedStatus %q, want one of %q", lc, got, want)
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%s has not settled within %s: deployedStatus %q, %v", lc, settleTimeout, got, err)
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// cleanUp removes, best effort and in the contract's order (§7 removal), what
// a test may have created on a real EMCO under its names: the logical clouds
// of proj1 (terminated first) with their children, proj1, the clusters of the
// providers with their labels and kv-pairs, the providers, and a controller
// named rsync (renamed, so never the real rsync entry). What it cannot remove
// is logged.
func cleanUp(t *testing.T, base string) {
	del := func(p string) {
		if status, body := call(t, "DELETE", base+p); status != http.StatusNoContent && status != http.StatusNotFound {
			t.Logf("cleanup: DELETE %s → %d %s", p, status, body)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*settleTimeout)
	defer cancel()

	project := "/v2/projects/" + url.PathEscape(rename(t, "proj1"))
	for _, lc := range listNames(t, base, project+"/logical-clouds", "") {
		lcPath := project + "/logical-clouds/" + url.PathEscape(lc)
		releaseLogicalCloud(ctx, t, base, lcPath)
		children := []string{"cluster-references", "user-permissions", "cluster-quotas", "kv-pairs"}
		for _, child := range children {
			for _, name := range listNames(t, base, lcPath+"/"+child, "") {
				del(lcPath + "/" + child + "/" + url.PathEscape(name))
			}
		}
		// A DELETE while a child is left would break the cloud for good (§4.5).
		if left := childrenLeft(t, base, lcPath, children); len(left) > 0 {
			t.Logf("cleanup: %s keeps %v; not deleting it, which would break it (contract §4.5)", lcPath, left)
			continue
		}
		del(lcPath)
	}
	del(project)

	for _, cp := range []string{"cp1", "cp2", "cp3"} {
		provider := "/v2/cluster-providers/" + url.PathEscape(rename(t, cp))
		for _, c := range listNames(t, base, provider+"/clusters", "") {
			cluster := provider + "/clusters/" + url.PathEscape(c)
			for _, l := range listNames(t, base, cluster+"/labels", "clusterLabel") {
				del(cluster + "/labels/" + url.PathEscape(l))
			}
			for _, kv := range listNames(t, base, cluster+"/kv-pairs", "") {
				del(cluster + "/kv-pairs/" + url.PathEscape(kv))
			}
			del(cluster)
		}
		del(provider)
	}
	del("/v2/controllers/" + url.PathEscape(rename(t, "rsync")))
}

// releaseLogicalCloud stops and terminates a logical cloud that has been
// instantiated, and waits (bounded by ctx) until rsync is done with it.
func releaseLogicalCloud(ctx context.Context, t *testing.T, base, lc string) {
	wait := func() string {
		for {
			st, err := deployedStatus(t, base, lc)
			if err != nil || (st != "Instantiating" && st != "Updating" && st != "Terminating") || ctx.Err() != nil {
				return st
			}
			time.Sleep(time.Second)
		}
	}
	switch st := wait(); st {
	case "", "Terminated", "TerminateFailed":
		return
	case "Instantiating", "Updating":
		// Still in progress when ctx ended: stop it so that it can be terminated.
		_, _ = call(t, "POST", base+lc+"/stop")
	}
	if status, body := call(t, "POST", base+lc+"/terminate"); status != http.StatusAccepted {
		t.Logf("cleanup: terminate %s → %d %s", lc, status, body)
		return
	}
	if st := wait(); st != "Terminated" {
		t.Logf("cleanup: %s is %s after terminate", lc, st)
	}
}

// childrenLeft names the children of the logical cloud at lc still listed.
func childrenLeft(t *testing.T, base, lc string, kinds []string) []string {
	var left []string
	for _, kind := range kinds {
		for _, name := range listNames(t, base, lc+"/"+kind, "") {
			left = append(left, kind+"/"+name)
		}
	}
	return left
}

// listNames lists the names of the objects at p: each element's
// metadata.name, or its key field when key is set. A missing list (404, or
// dcm's 400 for a cloud without references) is empty.
func listNames(t *testing.T, base, p, key string) []string {
	status, body := call(t, "GET", base+p)
	if status != http.StatusOK {
		return nil
	}
	var items []map[string]json.RawMessage
	if err := json.Unmarshal(body, &items); err != nil {
		t.Logf("cleanup: GET %s: %v", p, err)
		return nil
	}
	var names []string
	for _, it := range items {
		var name string
		if key != "" {
			_ = json.Unmarshal(it[key], &name)
		} else {
			var md struct {
				Name string `json:"name"`
			}
			_ = json.Unmarshal(it["metadata"], &md)
			name = md.Name
		}
		if name != "" {
			names = append(names, name)
		}
	}
	return names
}

// lcOf is the logical-cloud path of an instantiate, update or terminate path.
func lcOf(p string) string { return path.Dir(strings.SplitN(p, "?", 2)[0]) }
