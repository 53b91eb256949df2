package resolve

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcn-ssu/lkaas/internal/loader"
)

// The highest layer that writes any worker key decides between a fixed count and the
// autoscaler's range, so an override turns a profile's count into a range and back.
func TestWorkerCountOrAutoscalerRange(t *testing.T) {
	tests := []struct {
		name     string
		profile  string
		catalog  string
		override string
		count    int32
		rng      *WorkerRange
	}{
		{name: "profile count", profile: `{workerMachineCount: 3}`, count: 3},
		{name: "profile range", profile: `{workerMachineMinCount: 1, workerMachineMaxCount: 5}`, count: 1, rng: &WorkerRange{1, 5}},
		{name: "equal ends", profile: `{workerMachineMinCount: 2, workerMachineMaxCount: 2}`, count: 2, rng: &WorkerRange{2, 2}},
		{name: "catalog range over profile count", profile: `{workerMachineCount: 3}`, catalog: `{workerMachineMinCount: 2, workerMachineMaxCount: 6}`, count: 2, rng: &WorkerRange{2, 6}},
		{name: "cluster count over catalog range", profile: `{workerMachineCount: 3}`, catalog: `{workerMachineMinCount: 2, workerMachineMaxCount: 6}`, override: `{workerMachineCount: 4}`, count: 4},
		{name: "cluster range over profile count", profile: `{workerMachineCount: 3}`, override: `{workerMachineMinCount: 0, workerMachineMaxCount: 10}`, count: 0, rng: &WorkerRange{0, 10}},
		{name: "null count falls back to the default", profile: `{workerMachineCount: 3}`, override: `{workerMachineCount: null}`, count: 0},
		{name: "an unrelated override keeps the profile's range", profile: `{workerMachineMinCount: 1, workerMachineMaxCount: 5}`, override: `{workerFlavor: m1.large}`, count: 1, rng: &WorkerRange{1, 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs := []any{profile("default", "small", infraType, "1.0.0", templatePath("t.yaml"),
				values(vals(t, mergeFlow(`kubernetesVersion: v1.30.1`, tt.profile))))}
			catalogInfra := infra("openstack", ref("small", infraType, "1.0.0"))
			if tt.catalog != "" {
				catalogInfra = infra("openstack", ref("small", infraType, "1.0.0"), vals(t, tt.catalog))
			}
			docs = append(docs, catalog("starlab", "medium", catalogInfra))
			opts := []clusterOption{fromCatalog("medium")}
			if tt.override != "" {
				opts = append(opts, override(vals(t, tt.override)))
			}
			p := resolveOne(t, append(docs, cluster("starlab", "c1", opts...))...)
			assert.Equal(t, tt.count, p.WorkerReplicas)
			assert.Equal(t, tt.rng, p.WorkerAutoscaling)
		})
	}
}

// mergeFlow joins a YAML flow map's entries with one more entry.
func mergeFlow(entry, flow string) string {
	if len(flow) < 2 {
		return "{" + entry + "}"
	}
	return "{" + entry + ", " + flow[1:]
}

// A wrong range is reported at the document and field that set it, and nothing resolves.
func TestWorkerRangeErrors(t *testing.T) {
	version := values(vals(t, `{kubernetesVersion: v1.30.1}`))
	tests := []struct {
		name     string
		profile  string
		override string
		want     []string
	}{
		{
			name:    "min above max",
			profile: `{kubernetesVersion: v1.30.1, workerMachineMinCount: 5, workerMachineMaxCount: 2}`,
			want:    []string{`a-infrastructure-1.0.0.yaml:1:1: InfrastructureProfile/a-infrastructure-1.0.0: spec.values.workerMachineMinCount: workerMachineMinCount 5 is more than workerMachineMaxCount 2`},
		},
		{
			name:     "count and range in one document",
			override: `{workerMachineCount: 3, workerMachineMinCount: 1, workerMachineMaxCount: 4}`,
			want:     []string{`c1.yaml:1:1: Cluster/c1: spec.override.workerMachineMinCount: give either workerMachineCount (a fixed count) or workerMachineMinCount and workerMachineMaxCount (a range for the cluster autoscaler), not both`},
		},
		{
			name:     "count and a max alone",
			override: `{workerMachineCount: 3, workerMachineMaxCount: 4}`,
			want:     []string{`c1.yaml:1:1: Cluster/c1: spec.override.workerMachineMaxCount: give either workerMachineCount (a fixed count) or workerMachineMinCount and workerMachineMaxCount (a range for the cluster autoscaler), not both`},
		},
		{
			name:     "one end only",
			override: `{workerMachineMaxCount: 4}`,
			want:     []string{`c1.yaml:1:1: Cluster/c1: spec.override.workerMachineMaxCount: workerMachineMaxCount needs workerMachineMinCount beside it: the cluster autoscaler's range has two ends`},
		},
		{
			name:     "ends that are not counts",
			override: `{workerMachineMinCount: "1", workerMachineMaxCount: -4}`,
			want: []string{
				`c1.yaml:1:1: Cluster/c1: spec.override.workerMachineMinCount: workerMachineMinCount must be a whole number from 0 to 2147483647, not "1"`,
				`c1.yaml:1:1: Cluster/c1: spec.override.workerMachineMaxCount: workerMachineMaxCount must be a whole number from 0 to 2147483647, not -4`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := profile("default", "a", infraType, "1.0.0", templatePath("t.yaml"), version)
			if tt.profile != "" {
				p = profile("default", "a", infraType, "1.0.0", templatePath("t.yaml"), values(vals(t, tt.profile)))
			}
			var opts []clusterOption
			opts = append(opts, withRecipe(infra("openstack", ref("a", infraType, "1.0.0"))))
			if tt.override != "" {
				opts = append(opts, override(vals(t, tt.override)))
			}
			assert.Equal(t, tt.want, errorLines(t, set(p, cluster("starlab", "c1", opts...)), Options{}))
		})
	}
}

// Loaded from YAML, the error names the file, the line and the field to change.
func TestWorkerRangeErrorNamesTheLine(t *testing.T) {
	files := map[string][]byte{
		"profiles/small.yaml": []byte(`apiVersion: automation.dcn.ssu.ac.kr/v1alpha1
kind: InfrastructureProfile
metadata:
  name: small
  namespace: default
spec:
  profileName: small
  type: Infrastructure
  revision: 1.0.0
  template: {path: t.yaml}
  values:
    kubernetesVersion: v1.30.1
    workerMachineMinCount: 4
    workerMachineMaxCount: 2
`),
		"clusters/c1.yaml": []byte(`apiVersion: automation.dcn.ssu.ac.kr/v1alpha1
kind: Cluster
metadata:
  name: c1
  namespace: starlab
spec:
  infrastructure:
    provider: openstack
    profile: {name: small, type: Infrastructure, revision: 1.0.0}
`),
	}
	s, err := loader.Load(files, loader.Options{})
	require.NoError(t, err)
	_, err = Resolve(s, Options{})
	var list loader.ErrorList
	require.ErrorAs(t, err, &list)
	require.Len(t, list, 1)
	assert.Equal(t, "profiles/small.yaml", list[0].Pos.File)
	assert.Equal(t, 13, list[0].Pos.Line)
	assert.Equal(t, "spec.values.workerMachineMinCount", list[0].Field)
}
