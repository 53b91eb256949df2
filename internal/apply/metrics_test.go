package apply

import (
	"testing"

	"github.com/stretchr/testify/require"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
)

// apiRequests are the API server's own counts of requests on the L-KaaS kinds, from
// apiserver_request_total: what the server saw, whatever client sent it. Reads are GETs and LISTs.
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

// readAPIRequests counts the API server's requests on the L-KaaS kinds.
func readAPIRequests(t testing.TB) apiRequests {
	t.Helper()
	samples, err := env.APIRequests()
	require.NoError(t, err)
	var r apiRequests
	for _, q := range samples {
		if !lkaasGroups[q.Group] {
			continue
		}
		n := int(q.Count)
		switch {
		case q.DryRun:
			r.DryRuns += n
		case q.Verb == "WATCH":
			// A watch is counted when it ends, and a previous test's informers end theirs
			// whenever their shutdown gets to it: not a read this test made.
		case q.Read():
			r.Reads += n
		default:
			r.Writes += n
		}
	}
	return r
}
