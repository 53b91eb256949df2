package apply

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
)

func TestDriftMeansAFieldWeSetDiffersLive(t *testing.T) {
	desired := `{
		"apiVersion": "automation.dcn.ssu.ac.kr/v1alpha1", "kind": "Cluster",
		"metadata": {"name": "c1", "labels": {"a": "1"},
			"annotations": {"note": "x", "` + automationv1alpha1.SourceRevisionAnnotation + `": "r2"}},
		"spec": {"replicas": 3, "tags": ["x", "y"], "empty": {},
			"software": [{"name": "prom", "revision": "1.0.0"}]}}`
	cases := []struct {
		name    string
		live    string
		drifted bool
	}{
		{name: "identical but an older revision stamp", live: `{
			"metadata": {"name": "c1", "labels": {"a": "1"}, "annotations": {"note": "x", "` + automationv1alpha1.SourceRevisionAnnotation + `": "r1"}},
			"spec": {"replicas": 3, "tags": ["x", "y"], "software": [{"name": "prom", "revision": "1.0.0"}]}}`},
		{name: "defaults, status and other managers' fields", live: `{
			"metadata": {"name": "c1", "uid": "u", "labels": {"a": "1", "b": "2"}, "annotations": {"note": "x", "other": "y"}},
			"spec": {"replicas": 3.0, "tags": ["x", "y"], "paused": false, "empty": {"k": 1},
				"software": [{"name": "other", "revision": "9"}, {"name": "prom", "revision": "1.0.0", "wave": 0}]},
			"status": {"phase": "Ready"}}`},
		{name: "a value changed", drifted: true, live: `{
			"metadata": {"name": "c1", "labels": {"a": "1"}, "annotations": {"note": "x"}},
			"spec": {"replicas": 4, "tags": ["x", "y"], "software": [{"name": "prom", "revision": "1.0.0"}]}}`},
		{name: "a label gone", drifted: true, live: `{
			"metadata": {"name": "c1", "annotations": {"note": "x"}},
			"spec": {"replicas": 3, "tags": ["x", "y"], "software": [{"name": "prom", "revision": "1.0.0"}]}}`},
		{name: "an annotation changed", drifted: true, live: `{
			"metadata": {"name": "c1", "labels": {"a": "1"}, "annotations": {"note": "z"}},
			"spec": {"replicas": 3, "tags": ["x", "y"], "software": [{"name": "prom", "revision": "1.0.0"}]}}`},
		{name: "an atomic list grew", drifted: true, live: `{
			"metadata": {"name": "c1", "labels": {"a": "1"}, "annotations": {"note": "x"}},
			"spec": {"replicas": 3, "tags": ["x", "y", "z"], "software": [{"name": "prom", "revision": "1.0.0"}]}}`},
		{name: "a keyed item changed", drifted: true, live: `{
			"metadata": {"name": "c1", "labels": {"a": "1"}, "annotations": {"note": "x"}},
			"spec": {"replicas": 3, "tags": ["x", "y"], "software": [{"name": "prom", "revision": "2.0.0"}]}}`},
		{name: "a keyed item gone", drifted: true, live: `{
			"metadata": {"name": "c1", "labels": {"a": "1"}, "annotations": {"note": "x"}},
			"spec": {"replicas": 3, "tags": ["x", "y"], "software": []}}`},
		{name: "spec gone", drifted: true, live: `{"metadata": {"name": "c1", "labels": {"a": "1"}, "annotations": {"note": "x"}}}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.drifted, drifted(decode(t, desired), decode(t, tc.live)))
		})
	}
}

func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(s), &m))
	return m
}
