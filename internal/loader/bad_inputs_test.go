package loader

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

const (
	profileHead = "apiVersion: automation.dcn.ssu.ac.kr/v1alpha1\nkind: InfrastructureProfile\n"
	clusterHead = "apiVersion: automation.dcn.ssu.ac.kr/v1alpha1\nkind: Cluster\n"
	lcHead      = "apiVersion: intent.automation.dcn.ssu.ac.kr/v1\nkind: LogicalCluster\n"
	// a cluster spec that is valid, to put after metadata
	clusterSpec = "spec:\n  clusterCatalog: small\n"
)

// Every bad input is reported with its file, line and column, the document, the field as
// written, and what would be accepted: the exact text is the contract of `lkaas validate`.
func TestBadInputsAreReportedWithPositionFieldAndAcceptedValues(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		opts  Options
		want  []string
	}{
		{
			name:  "YAML syntax error",
			files: map[string]string{"a.yaml": clusterHead + "metadata:\n  name: x\n   bad: indent\n"},
			want:  []string{"a.yaml:5:4: invalid YAML: mapping values are not allowed in this context"},
		},
		{
			name:  "the seed's mis-indented member list, left unfixed",
			files: map[string]string{"lc.yaml": lcHead + "metadata: {name: m}\nspec:\n  clusters:\n    - cluster:\n        name: a\n      - cluster:\n        name: b\n"},
			want:  []string{"lc.yaml:5:3: invalid YAML: did not find expected key"},
		},
		{
			name:  "unknown version of an L-KaaS kind",
			files: map[string]string{"c.yaml": "apiVersion: automation.dcn.ssu.ac.kr/v1beta1\nkind: Cluster\nmetadata: {name: x}\n"},
			want: []string{`c.yaml:1:1: Cluster/x: apiVersion: unknown apiVersion/kind "automation.dcn.ssu.ac.kr/v1beta1" "Cluster"; accepted: ` +
				`automation.dcn.ssu.ac.kr/v1alpha1 Cluster|ClusterCatalog|Fleet|InfrastructureProfile, intent.automation.dcn.ssu.ac.kr/v1 LogicalCluster`},
		},
		{
			name:  "unknown kind of an L-KaaS version",
			files: map[string]string{"c.yaml": "apiVersion: automation.dcn.ssu.ac.kr/v1alpha1\nkind: Clusters\nmetadata: {name: x}\n"},
			want: []string{`c.yaml:2:1: Clusters/x: kind: unknown apiVersion/kind "automation.dcn.ssu.ac.kr/v1alpha1" "Clusters"; accepted: ` +
				`automation.dcn.ssu.ac.kr/v1alpha1 Cluster|ClusterCatalog|Fleet|InfrastructureProfile, intent.automation.dcn.ssu.ac.kr/v1 LogicalCluster`},
		},
		{
			name: "duplicate name, across files",
			files: map[string]string{
				"a.yaml": clusterHead + "metadata: {name: x, namespace: s}\n" + clusterSpec,
				"b.yaml": clusterHead + "metadata:\n  name: x\n  namespace: s\n" + clusterSpec,
			},
			want: []string{"b.yaml:4:3: Cluster/x: metadata.name: Cluster s/x is declared twice; the first is at a.yaml:3:12"},
		},
		{
			name: "two seed profiles with one name, type and revision",
			files: map[string]string{"p.yaml": profileHead + "metadata: {name: calico, type: Network, revision: 1.0.0}\nspec: {cni: calico}\n---\n" +
				profileHead + "metadata: {name: calico, type: Network, revision: 1.0.0}\nspec: {cni: cilium}\n"},
			want: []string{"p.yaml:8:12: InfrastructureProfile/calico: metadata.name: InfrastructureProfile default/calico-network-1.0.0 is declared twice; the first is at p.yaml:3:12"},
		},
		{
			name:  "invalid Kubernetes version in an override",
			files: map[string]string{"c.yaml": clusterHead + "metadata: {name: x}\nspec:\n  infrastructure:\n    spec:\n      provider: openstack\n      profile: {name: small, type: Infrastructure, revision: 1.0.0}\n      override:\n        kubernetesVersion: 1.25.0\n"},
			want:  []string{`c.yaml:10:28: Cluster/x: spec.infrastructure.spec.override.kubernetesVersion: invalid Kubernetes version "1.25.0" (did you mean "v1.25.0"?): expected v<major>.<minor>.<patch>, like v1.25.0`},
		},
		{
			name:  "Kubernetes version written as a number in profile values",
			files: map[string]string{"p.yaml": profileHead + "metadata: {name: small, type: Infrastructure, revision: 1.0.0}\nspec:\n  kubernetesVersion: 1.25\n"},
			want:  []string{`p.yaml:5:22: InfrastructureProfile/small: spec.kubernetesVersion: invalid Kubernetes version a number: write it as a string like v1.25.0`},
		},
		{
			name:  "namespace other than the Fleet's",
			opts:  Options{FleetNamespace: "starlab"},
			files: map[string]string{"c.yaml": clusterHead + "metadata:\n  name: x\n  namespace: other\n" + clusterSpec},
			want:  []string{`c.yaml:5:3: Cluster/x: metadata.namespace: namespace "other": a Fleet may only write into its own namespace starlab; remove metadata.namespace or set it to starlab`},
		},
		{
			name:  "unknown field, with the accepted names",
			files: map[string]string{"c.yaml": clusterHead + "metadata: {name: x}\nspec:\n  clustercatlog: small\n"},
			want: []string{`c.yaml:5:3: Cluster/x: spec.clustercatlog: unknown field "clustercatlog" (did you mean "clusterCatalog"?); ` +
				`accepted: clusterCatalog, existing, infrastructure, network, override, software, tenant`},
		},
		{
			name:  "unknown field in a member, as the seed shapes it",
			files: map[string]string{"lc.yaml": lcHead + "metadata: {name: m}\nspec:\n  clusters:\n    - cluster:\n        name: a\n        metadata:\n          spec:\n            clustercatlog: small\n"},
			want: []string{`lc.yaml:10:13: LogicalCluster/m: spec.clusters[0].cluster.metadata.spec.clustercatlog: unknown field "clustercatlog" (did you mean "clusterCatalog"?); ` +
				`accepted: clusterCatalog, existing, infrastructure, labels, name, network, override, software, wave`},
		},
		{
			name:  "upper-case object name",
			files: map[string]string{"c.yaml": clusterHead + "metadata: {name: Core5GCluster}\n" + clusterSpec},
			want: []string{`c.yaml:3:12: Cluster/Core5GCluster: metadata.name: invalid name "Core5GCluster": object names are lower-case DNS-1123 subdomains: ` +
				`a-z, 0-9, '-' and '.', starting and ending with a letter or digit, at most 253 characters; use "core5g-cluster" and change every reference to it`},
		},
		{
			name:  "wrong profile type value",
			files: map[string]string{"p.yaml": profileHead + "metadata:\n  name: disk\n  type: Storage\n  revision: 1.0.0\nspec: {}\n"},
			want:  []string{`p.yaml:5:3: InfrastructureProfile/disk: metadata.type: invalid profile type "Storage"; accepted: Infrastructure, Network, Software (ApplicationTemplate reads as Software)`},
		},
		{
			name:  "profile revision that is not a semantic version",
			files: map[string]string{"p.yaml": profileHead + "metadata: {name: cni, type: Network, revision: latest}\nspec: {}\n"},
			want:  []string{`p.yaml:3:38: InfrastructureProfile/cni: metadata.revision: invalid revision "latest": must be a semantic version such as 1.0.0`},
		},
		{
			name:  "revision written as a number",
			files: map[string]string{"p.yaml": profileHead + "metadata: {name: cni, type: Network, revision: 1.0}\nspec: {}\n"},
			want:  []string{`p.yaml:3:48: InfrastructureProfile/cni: metadata.revision: must be a string, not a number; write it in quotes: "1.0"`},
		},
		{
			name:  "a network recipe naming an Infrastructure profile (CEL rule)",
			files: map[string]string{"c.yaml": clusterHead + "metadata: {name: x}\nspec:\n  clusterCatalog: small\n  network:\n    name: calico\n    profile: {name: calico, type: Infrastructure, revision: 1.0.0}\n"},
			want:  []string{`c.yaml:8:29: Cluster/x: spec.network.profile.type: a network recipe must reference a profile of type Network (this one is Infrastructure)`},
		},
		{
			name:  "a cluster with neither catalog nor infrastructure (CEL rule)",
			files: map[string]string{"c.yaml": clusterHead + "metadata: {name: x}\nspec:\n  tenant: starlab\n"},
			want:  []string{`c.yaml:4:1: Cluster/x: spec: a cluster needs spec.clusterCatalog, spec.infrastructure or spec.existing`},
		},
		{
			name:  "a Network profile naming a template (CEL rule)",
			files: map[string]string{"p.yaml": profileHead + "metadata: {name: cni, type: Network, revision: 1.0.0}\nspec:\n  url: https://example.com/releases\n  filename: t.yaml\n"},
			want:  []string{`p.yaml:5:3: InfrastructureProfile/cni: spec: only an Infrastructure profile may name a cluster template (this one is Network)`},
		},
		{
			name:  "template url without filename (CEL rule)",
			files: map[string]string{"p.yaml": profileHead + "metadata: {name: capi, type: Infrastructure, revision: 1.0.0}\nspec:\n  template:\n    url: https://example.com/releases\n"},
			want:  []string{`p.yaml:5:3: InfrastructureProfile/capi: spec.template.filename: a template url needs a filename, e.g. cluster-template.yaml`},
		},
		{
			name:  "template path outside the repository",
			files: map[string]string{"p.yaml": profileHead + "metadata: {name: capi, type: Infrastructure, revision: 1.0.0}\nspec:\n  template: {path: ../secrets/t.yaml}\n"},
			want:  []string{`p.yaml:5:14: InfrastructureProfile/capi: spec.template.path: template path "../secrets/t.yaml" leaves the repository; give a path relative to the repository root, without ..`},
		},
		{
			name:  "parent of another type (CEL rule)",
			files: map[string]string{"p.yaml": profileHead + "metadata: {name: cni, type: Network, revision: 1.0.0}\nspec:\n  profile: {name: base, type: Software, revision: 1.0.0}\n"},
			want:  []string{`p.yaml:5:25: InfrastructureProfile/cni: spec.profile.type: the parent profile must have the same type as the profile (Network), not Software`},
		},
		{
			name:  "missing required reference fields",
			files: map[string]string{"c.yaml": clusterHead + "metadata: {name: x}\nspec:\n  infrastructure:\n    provider: openstack\n    profile: {name: small}\n"},
			want: []string{
				`c.yaml:7:5: Cluster/x: spec.infrastructure.profile.type: is required`,
				`c.yaml:7:5: Cluster/x: spec.infrastructure.profile.revision: is required`,
			},
		},
		{
			name:  "upper-case member name and duplicate member",
			files: map[string]string{"lc.yaml": lcHead + "metadata: {name: m}\nspec:\n  clusters:\n    - {name: Edge_1, clusterCatalog: c}\n    - {name: a, clusterCatalog: c}\n    - {name: a, clusterCatalog: c}\n"},
			want: []string{
				`lc.yaml:6:8: LogicalCluster/m: spec.clusters[0].name: invalid member name "Edge_1": must be a lower-case DNS-1123 label: a-z, 0-9 and '-', starting and ending with a letter or digit, at most 63 characters, such as "edge-1"`,
				`lc.yaml:8:8: LogicalCluster/m: spec.clusters[2].name: duplicate member "a" (also at line 7); member names must be unique`,
			},
		},
		{
			name:  "tenant label and metadata.tenant disagree",
			files: map[string]string{"lc.yaml": lcHead + "metadata:\n  name: m\n  tenant: a\n  labels: {tenant: b}\nspec:\n  clusters: [{name: x, clusterCatalog: c}]\n"},
			want:  []string{`lc.yaml:5:3: LogicalCluster/m: metadata.tenant: tenant "a" differs from the tenant label "b" (line 6); make them equal`},
		},
		{
			name:  "a field given twice, in the seed's place and the canonical one",
			files: map[string]string{"c.yaml": clusterHead + "metadata: {name: x, tenant: a}\nspec:\n  tenant: b\n  clusterCatalog: c\n"},
			want:  []string{`c.yaml:3:21: Cluster/x: metadata.tenant: tenant is given twice, here and at line 5 (spec.tenant); keep one`},
		},
		{
			name:  "duplicate key in a mapping",
			files: map[string]string{"c.yaml": clusterHead + "metadata: {name: x}\nspec:\n  clusterCatalog: a\n  clusterCatalog: b\n"},
			want:  []string{`c.yaml:6:3: Cluster/x: spec.clusterCatalog: duplicate key "clusterCatalog" (first written at line 5)`},
		},
		{
			name:  "a Fleet with a bad interval and an unknown default endpoint",
			files: map[string]string{"f.yaml": "apiVersion: automation.dcn.ssu.ac.kr/v1alpha1\nkind: Fleet\nmetadata: {name: f}\nspec:\n  sourceRef: {kind: GitRepository, name: r}\n  interval: 5 minutes\n  emco:\n    defaultEndpoint: b\n    endpoints: [{name: a, url: http://emco}]\n"},
			want:  []string{`f.yaml:6:13: Fleet/f: spec.interval: invalid duration "5 minutes": write a number with a unit ms, s, m or h, e.g. 30s, 5m, 1h30m`},
		},
		{
			name:  "a Fleet whose default endpoint is not one of its endpoints (CEL rule)",
			files: map[string]string{"f.yaml": "apiVersion: automation.dcn.ssu.ac.kr/v1alpha1\nkind: Fleet\nmetadata: {name: f}\nspec:\n  sourceRef: {kind: GitRepository, name: r}\n  interval: 5m\n  emco:\n    defaultEndpoint: b\n    endpoints: [{name: a, url: http://emco}]\n"},
			want:  []string{`f.yaml:8:5: Fleet/f: spec.emco.defaultEndpoint: defaultEndpoint "b" must name one of spec.emco.endpoints: a`},
		},
		{
			name:  "values that are not a map",
			files: map[string]string{"p.yaml": profileHead + "metadata: {name: cni, type: Network, revision: 1.0.0}\nspec:\n  values: [a, b]\n"},
			want:  []string{`p.yaml:5:11: InfrastructureProfile/cni: spec.values: must be a map of values, not a list`},
		},
		{
			name: "every problem of the tree, sorted by file and line",
			files: map[string]string{
				"b.yaml": clusterHead + "metadata: {name: B}\n" + clusterSpec,
				"a.yaml": clusterHead + "metadata: {name: a}\nspec:\n  tenant: Starlab\n  clusterCatalog: c\n",
			},
			want: []string{
				`a.yaml:5:3: Cluster/a: spec.tenant: invalid tenant "Starlab": must be a lower-case DNS-1123 label: a-z, 0-9 and '-', starting and ending with a letter or digit, at most 63 characters, such as "starlab"`,
				`b.yaml:3:12: Cluster/B: metadata.name: invalid name "B": object names are lower-case DNS-1123 subdomains: a-z, 0-9, '-' and '.', starting and ending with a letter or digit, at most 253 characters; use "b" and change every reference to it`,
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string][]byte{}
			for name, text := range tc.files {
				files[name] = []byte(text)
			}
			set, err := Load(files, tc.opts)
			assert.Nil(t, set)
			assert.Equal(t, tc.want, errorLines(t, err))
		})
	}
}
