package plane

import (
	"bufio"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"k8s.io/client-go/rest"
)

// APIRequest is one series of the API server's apiserver_request_total counter: what the
// server served, whatever client sent it. Server-side apply is counted under verb APPLY, and a
// dry run carries a dry_run label, so a filter on POST/PUT/PATCH/DELETE alone would miss
// almost every write.
type APIRequest struct {
	Verb, Group, Resource, Subresource string
	DryRun                             bool
	Count                              float64
}

// Read reports a GET, LIST or WATCH.
func (r APIRequest) Read() bool {
	return r.Verb == "GET" || r.Verb == "LIST" || r.Verb == "WATCH"
}

// APIRequests reads the API server's request counters from its /metrics endpoint. Tests
// compare two readings to count the requests a piece of code caused.
func (e *APIServer) APIRequests() ([]APIRequest, error) {
	hc, err := rest.HTTPClientFor(e.Config)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Get(strings.TrimSuffix(e.Config.Host, "/") + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	var out []APIRequest
	s := bufio.NewScanner(resp.Body)
	s.Buffer(make([]byte, 1<<20), 1<<20)
	for s.Scan() {
		rest, ok := strings.CutPrefix(s.Text(), "apiserver_request_total{")
		if !ok {
			continue
		}
		labelText, valueText, ok := strings.Cut(rest, "} ")
		if !ok {
			return nil, fmt.Errorf("unexpected metrics line %q", s.Text())
		}
		count, err := strconv.ParseFloat(valueText, 64)
		if err != nil {
			return nil, fmt.Errorf("metrics line %q: %w", s.Text(), err)
		}
		// The API server's label values hold no quotes or commas.
		labels := map[string]string{}
		for _, pair := range strings.Split(labelText, ",") {
			if k, v, ok := strings.Cut(pair, "="); ok {
				labels[k] = strings.Trim(v, `"`)
			}
		}
		out = append(out, APIRequest{Verb: labels["verb"], Group: labels["group"], Resource: labels["resource"],
			Subresource: labels["subresource"], DryRun: labels["dry_run"] != "", Count: count})
	}
	return out, s.Err()
}
