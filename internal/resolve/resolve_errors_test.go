package resolve

import (
	"testing"

	"github.com/stretchr/testify/assert"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
	"github.com/dcn-ssu/lkaas/internal/loader"
)

// Every problem a user can make across documents, with the exact text they will read.
func TestResolveReportsWhatToChange(t *testing.T) {
	// template is the minimum an Infrastructure chain needs to render.
	template := templatePath("templates/openstack.yaml")
	version := values(vals(t, `{kubernetesVersion: v1.30.1}`))
	standalone := func(r automationv1alpha1.ProfileReference, opts ...clusterOption) loader.Doc[*automationv1alpha1.Cluster] {
		return cluster("starlab", "c1", append([]clusterOption{withRecipe(infra("openstack", r))}, opts...)...)
	}

	tests := []struct {
		name string
		docs []any
		opts Options
		want []string
	}{
		{
			name: "missing profile",
			docs: []any{standalone(ref("openstack-tiny", infraType, "1.0.0"))},
			want: []string{`c1.yaml:1:1: Cluster/c1: spec.infrastructure.profile: Infrastructure profile "openstack-tiny" not found in namespaces starlab, default`},
		},
		{
			name: "missing parent",
			docs: []any{
				profile("default", "a", infraType, "1.0.0", parent(ref("base", infraType, "1.0.0"))),
				standalone(ref("a", infraType, "1.0.0")),
			},
			want: []string{`a-infrastructure-1.0.0.yaml:1:1: InfrastructureProfile/a-infrastructure-1.0.0: spec.parent: parent chain a@1.0.0 -> base@1.0.0: Infrastructure profile "base" not found in namespaces default`},
		},
		{
			name: "missing grandparent names the whole chain",
			docs: []any{
				profile("starlab", "a", infraType, "1.0.0", parent(ref("b", infraType, "1.0.0"))),
				profile("default", "b", infraType, "1.0.0", parent(ref("c", infraType, "2.0.0"))),
				profile("default", "c", infraType, "1.0.0", template),
				standalone(ref("a", infraType, "1.0.0")),
			},
			want: []string{`b-infrastructure-1.0.0.yaml:1:1: InfrastructureProfile/b-infrastructure-1.0.0: spec.parent: parent chain a@1.0.0 -> b@1.0.0 -> c@2.0.0: Infrastructure profile "c" has no revision 2.0.0 in namespaces default (found 1.0.0 in default)`},
		},
		{
			name: "cycle of three",
			docs: []any{
				profile("default", "a", infraType, "1.0.0", parent(ref("b", infraType, "1.0.0")), template),
				profile("default", "b", infraType, "1.0.0", parent(ref("c", infraType, "1.0.0"))),
				profile("default", "c", infraType, "1.0.0", parent(ref("a", infraType, "1.0.0"))),
				standalone(ref("a", infraType, "1.0.0")),
			},
			want: []string{`c-infrastructure-1.0.0.yaml:1:1: InfrastructureProfile/c-infrastructure-1.0.0: spec.parent: parent chain a@1.0.0 -> b@1.0.0 -> c@1.0.0 -> a@1.0.0 is a cycle`},
		},
		{
			name: "network profile used as infrastructure",
			docs: []any{
				profile("default", "calico-v1", networkType, "1.0.0"),
				standalone(ref("calico-v1", infraType, "1.0.0")),
			},
			want: []string{`c1.yaml:1:1: Cluster/c1: spec.infrastructure.profile: Infrastructure profile "calico-v1" not found in namespaces starlab, default; "calico-v1" is a Network profile, not Infrastructure`},
		},
		{
			name: "network parent of an infrastructure profile",
			docs: []any{
				profile("default", "calico-v1", networkType, "1.0.0"),
				profile("default", "a", infraType, "1.0.0", parent(ref("calico-v1", networkType, "1.0.0")), template),
				standalone(ref("a", infraType, "1.0.0")),
			},
			want: []string{`a-infrastructure-1.0.0.yaml:1:1: InfrastructureProfile/a-infrastructure-1.0.0: spec.parent.type: parent chain a@1.0.0 -> calico-v1@1.0.0: a is an Infrastructure profile, so its parent must be Infrastructure too, not Network`},
		},
		{
			name: "infrastructure profile in the network slot",
			docs: []any{
				profile("default", "a", infraType, "1.0.0", template, version),
				cluster("starlab", "c1", withRecipe(infra("openstack", ref("a", infraType, "1.0.0")), network("calico", ref("a", infraType, "1.0.0")))),
			},
			want: []string{`c1.yaml:1:1: Cluster/c1: spec.network.profile.type: a network add-on needs a Network profile, not "Infrastructure"`},
		},
		{
			name: "revision not found",
			docs: []any{
				profile("default", "a", infraType, "1.0.0", template, version),
				profile("default", "a", infraType, "1.1.0", template, version),
				standalone(ref("a", infraType, "2.0.0")),
			},
			want: []string{`c1.yaml:1:1: Cluster/c1: spec.infrastructure.profile: Infrastructure profile "a" has no revision 2.0.0 in namespaces starlab, default (found 1.0.0, 1.1.0 in default)`},
		},
		{
			name: "range with no match",
			docs: []any{
				profile("starlab", "a", infraType, "0.9.0", template, version),
				profile("default", "a", infraType, "1.0.0", template, version),
				profile("default", "a", infraType, "1.1.0", template, version),
				standalone(ref("a", infraType, ">=2.0.0 <3.0.0")),
			},
			want: []string{`c1.yaml:1:1: Cluster/c1: spec.infrastructure.profile: Infrastructure profile "a" has no revision matching ">=2.0.0 <3.0.0" in namespaces starlab, default (found 0.9.0 in starlab; 1.0.0, 1.1.0 in default)`},
		},
		{
			name: "revision that is neither version nor range",
			docs: []any{
				profile("default", "a", infraType, "1.0.0", template, version),
				standalone(ref("a", infraType, "latest")),
			},
			want: []string{`c1.yaml:1:1: Cluster/c1: spec.infrastructure.profile: revision "latest" is neither a version such as 1.0.0 nor a range such as ">=1.0.0 <2.0.0", "~1.2" or "^1"`},
		},
		{
			name: "profile from a forbidden namespace",
			docs: []any{
				profile("other-tenant", "a", infraType, "1.0.0", template, version),
				standalone(automationv1alpha1.ProfileReference{Name: "a", Type: infraType, Revision: "1.0.0", Namespace: "other-tenant"}),
			},
			want: []string{`c1.yaml:1:1: Cluster/c1: spec.infrastructure.profile: namespace "other-tenant" may not be used: profiles come from the referrer's namespace or a shared profile namespace (starlab, default)`},
		},
		{
			name: "profile of another tenant is not found without a namespace",
			docs: []any{
				profile("other-tenant", "a", infraType, "1.0.0", template, version),
				standalone(ref("a", infraType, "1.0.0")),
			},
			opts: Options{SharedProfileNamespaces: []string{"platform", "default"}},
			want: []string{`c1.yaml:1:1: Cluster/c1: spec.infrastructure.profile: Infrastructure profile "a" not found in namespaces starlab, platform, default`},
		},
		{
			name: "missing catalog",
			docs: []any{
				catalog("starlab", "small"),
				catalog("default", "medium"),
				cluster("starlab", "c1", fromCatalog("medium")),
			},
			want: []string{`c1.yaml:1:1: Cluster/c1: spec.clusterCatalog: ClusterCatalog "medium" not found in namespace starlab (catalogs there: small)`},
		},
		{
			name: "missing catalog of a member",
			docs: []any{logicalCluster("starlab", "mec", "starlab", member("edge-1", "medium"))},
			want: []string{`mec.yaml:1:1: LogicalCluster/mec: spec.clusters[0].clusterCatalog: ClusterCatalog "medium" not found in namespace starlab`},
		},
		{
			name: "member name collides with a cluster",
			docs: []any{
				profile("default", "a", infraType, "1.0.0", template, version),
				standalone(ref("a", infraType, "1.0.0")),
				logicalCluster("starlab", "mec", "starlab",
					member("edge-1", "", infra("openstack", ref("a", infraType, "1.0.0"))),
					member("c1", "", infra("openstack", ref("a", infraType, "1.0.0")))),
			},
			want: []string{`mec.yaml:1:1: LogicalCluster/mec: spec.clusters[1].name: member "c1" collides with Cluster starlab/c1 at c1.yaml:1:1; a member becomes a Cluster of its name, so rename one of them`},
		},
		{
			name: "member name collides with a member of another logical cluster",
			docs: []any{
				profile("default", "a", infraType, "1.0.0", template, version),
				logicalCluster("starlab", "core", "starlab", member("edge-1", "", infra("openstack", ref("a", infraType, "1.0.0")))),
				logicalCluster("starlab", "mec", "starlab", member("edge-1", "", infra("openstack", ref("a", infraType, "1.0.0")))),
			},
			want: []string{`mec.yaml:1:1: LogicalCluster/mec: spec.clusters[0].name: member "edge-1" collides with member of LogicalCluster starlab/core at core.yaml:1:1; a member becomes a Cluster of its name, so rename one of them`},
		},
		{
			name: "bad kubernetesVersion in an override",
			docs: []any{
				profile("default", "a", infraType, "1.0.0", template, version),
				standalone(ref("a", infraType, "1.0.0"), override(vals(t, `{kubernetesVersion: "1.25"}`))),
			},
			want: []string{`c1.yaml:1:1: Cluster/c1: spec.override.kubernetesVersion: kubernetesVersion "1.25" is not a version like v1.25.0 (v<major>.<minor>.<patch>)`},
		},
		{
			name: "bad kubernetesVersion in a parent profile",
			docs: []any{
				profile("default", "base", infraType, "1.0.0", template, values(vals(t, `{kubernetesVersion: v1.25}`))),
				profile("default", "a", infraType, "1.0.0", parent(ref("base", infraType, "1.0.0"))),
				standalone(ref("a", infraType, "1.0.0")),
			},
			want: []string{`base-infrastructure-1.0.0.yaml:1:1: InfrastructureProfile/base-infrastructure-1.0.0: spec.values.kubernetesVersion: kubernetesVersion "v1.25" is not a version like v1.25.0 (v<major>.<minor>.<patch>)`},
		},
		{
			name: "workers set ahead of the control plane in a member override",
			docs: []any{
				profile("default", "a", infraType, "1.0.0", template, values(vals(t, `{kubernetesVersion: v1.35.0}`))),
				catalog("starlab", "medium", infra("openstack", ref("a", infraType, "1.0.0"))),
				logicalCluster("starlab", "mec", "starlab", withOverride(member("edge-1", "medium"), vals(t, `{workerKubernetesVersion: v1.36.0}`))),
			},
			want: []string{`mec.yaml:1:1: LogicalCluster/mec: spec.clusters[0].override.workerKubernetesVersion: workerKubernetesVersion v1.36.0 is newer than the control plane's v1.35.0: workers never run a newer Kubernetes than their control plane (rule workers-not-newer)`},
		},
		{
			name: "workers four minors behind",
			docs: []any{
				profile("default", "a", infraType, "1.0.0", template, values(vals(t, `{kubernetesVersion: v1.35.0, workerKubernetesVersion: v1.31.0}`))),
				standalone(ref("a", infraType, "1.0.0")),
			},
			want: []string{`a-infrastructure-1.0.0.yaml:1:1: InfrastructureProfile/a-infrastructure-1.0.0: spec.values.workerKubernetesVersion: workerKubernetesVersion v1.31.0 is 4 minors behind the control plane's v1.35.0: workers may be at most 3 minors behind (rule worker-skew)`},
		},
		{
			name: "a control-plane override that leaves the profile's workers ahead points at the override",
			docs: []any{
				profile("default", "a", infraType, "1.0.0", template, values(vals(t, `{kubernetesVersion: v1.35.0, workerKubernetesVersion: v1.35.0}`))),
				standalone(ref("a", infraType, "1.0.0"), override(vals(t, `{kubernetesVersion: v1.34.2}`))),
			},
			want: []string{`a-infrastructure-1.0.0.yaml:1:1: InfrastructureProfile/a-infrastructure-1.0.0: spec.values.workerKubernetesVersion: workerKubernetesVersion v1.35.0 is newer than the control plane's v1.34.2: workers never run a newer Kubernetes than their control plane (rule workers-not-newer)`},
		},
		{
			name: "malformed workers' version and version list",
			docs: []any{
				profile("default", "a", infraType, "1.0.0", template, values(vals(t, `{kubernetesVersion: v1.35.0, workerKubernetesVersion: "1.35", kubernetesVersions: [v1.35.2, latest]}`))),
				standalone(ref("a", infraType, "1.0.0")),
			},
			want: []string{
				`a-infrastructure-1.0.0.yaml:1:1: InfrastructureProfile/a-infrastructure-1.0.0: spec.values.workerKubernetesVersion: workerKubernetesVersion "1.35" is not a version like v1.25.0 (v<major>.<minor>.<patch>)`,
				`a-infrastructure-1.0.0.yaml:1:1: InfrastructureProfile/a-infrastructure-1.0.0: spec.values.kubernetesVersions[1]: kubernetesVersions[1] "latest" is not a version like v1.25.0 (v<major>.<minor>.<patch>)`,
			},
		},
		{
			name: "a version list that is not a list",
			docs: []any{
				profile("default", "a", infraType, "1.0.0", template, values(vals(t, `{kubernetesVersion: v1.35.0, kubernetesVersions: v1.36.1}`))),
				standalone(ref("a", infraType, "1.0.0")),
			},
			want: []string{`a-infrastructure-1.0.0.yaml:1:1: InfrastructureProfile/a-infrastructure-1.0.0: spec.values.kubernetesVersions: kubernetesVersions must be a list of versions such as [v1.35.2, v1.36.1], not "v1.36.1"`},
		},
		{
			name: "missing kubernetesVersion",
			docs: []any{
				profile("default", "a", infraType, "1.0.0", template),
				standalone(ref("a", infraType, "1.0.0")),
			},
			want: []string{`c1.yaml:1:1: Cluster/c1: spec.override: kubernetesVersion is not set by the Infrastructure profile chain a@1.0.0 nor by an override; set it in spec.override`},
		},
		{
			name: "machine counts that are not integers",
			docs: []any{
				profile("default", "a", infraType, "1.0.0", template, values(vals(t, `{kubernetesVersion: v1.30.1, workerMachineCount: "3"}`))),
				standalone(ref("a", infraType, "1.0.0"), override(vals(t, `{controlPlaneMachineCount: 2.5}`))),
			},
			want: []string{
				`a-infrastructure-1.0.0.yaml:1:1: InfrastructureProfile/a-infrastructure-1.0.0: spec.values.workerMachineCount: workerMachineCount must be a whole number from 0 to 2147483647, not "3"`,
				`c1.yaml:1:1: Cluster/c1: spec.override.controlPlaneMachineCount: controlPlaneMachineCount must be a whole number from 0 to 2147483647, not 2.5`,
			},
		},
		{
			name: "negative machine count",
			docs: []any{
				profile("default", "a", infraType, "1.0.0", template, version),
				standalone(ref("a", infraType, "1.0.0"), override(vals(t, `{workerMachineCount: -1}`))),
			},
			want: []string{`c1.yaml:1:1: Cluster/c1: spec.override.workerMachineCount: workerMachineCount must be a whole number from 0 to 2147483647, not -1`},
		},
		{
			name: "bad CIDR in the network add-on",
			docs: []any{
				profile("default", "a", infraType, "1.0.0", template, version),
				profile("default", "calico", networkType, "1.0.0", values(vals(t, `{podCIDR: ["10.96.0.0/12", "10.300.0.0/16"], serviceCIDR: 5}`))),
				cluster("starlab", "c1", withRecipe(infra("openstack", ref("a", infraType, "1.0.0")), network("calico", ref("calico", networkType, "1.0.0")))),
			},
			want: []string{
				`calico-network-1.0.0.yaml:1:1: InfrastructureProfile/calico-network-1.0.0: spec.values.podCIDR[1]: podCIDR "10.300.0.0/16" is not a CIDR such as 10.96.0.0/12`,
				`calico-network-1.0.0.yaml:1:1: InfrastructureProfile/calico-network-1.0.0: spec.values.serviceCIDR: serviceCIDR must be a CIDR or a list of CIDRs, not 5`,
			},
		},
		{
			name: "infrastructure chain without a template",
			docs: []any{
				profile("default", "a", infraType, "1.0.0", version),
				standalone(ref("a", infraType, "1.0.0")),
			},
			want: []string{`c1.yaml:1:1: Cluster/c1: spec.infrastructure.profile: Infrastructure profile chain a@1.0.0 names no template and no ClusterClass; one of its profiles needs spec.template or spec.clusterClass`},
		},
		{
			name: "no infrastructure inline or in the catalog",
			docs: []any{catalog("starlab", "bare"), cluster("starlab", "c1", fromCatalog("bare"))},
			want: []string{`c1.yaml:1:1: Cluster/c1: spec.infrastructure: no infrastructure: give spec.infrastructure or a clusterCatalog that has one`},
		},
		{
			name: "software add-on listed twice",
			docs: []any{
				profile("default", "a", infraType, "1.0.0", template, version),
				profile("default", "prometheus", softType, "1.0.0"),
				cluster("starlab", "c1", withRecipe(infra("openstack", ref("a", infraType, "1.0.0")),
					software("metrics", ref("prometheus", softType, "1.0.0")), software("metrics", ref("prometheus", softType, "1.0.0")))),
			},
			want: []string{`c1.yaml:1:1: Cluster/c1: spec.software[1].name: software add-on "metrics" is listed twice`},
		},
		{
			name: "parent from a namespace the profile may not use",
			docs: []any{
				profile("other-tenant", "base", infraType, "1.0.0", template, version),
				profile("starlab", "a", infraType, "1.0.0", parent(automationv1alpha1.ProfileReference{Name: "base", Type: infraType, Revision: "1.0.0", Namespace: "other-tenant"})),
				standalone(ref("a", infraType, "1.0.0")),
			},
			want: []string{`a-infrastructure-1.0.0.yaml:1:1: InfrastructureProfile/a-infrastructure-1.0.0: spec.parent: parent chain a@1.0.0 -> base@1.0.0: namespace "other-tenant" may not be used: profiles come from the referrer's namespace or a shared profile namespace (starlab, default)`},
		},
		{
			name: "profile revision that is not a version",
			docs: []any{profile("default", "a", infraType, "one", template, version)},
			want: []string{`a-infrastructure-one.yaml:1:1: InfrastructureProfile/a-infrastructure-one: spec.revision: revision "one" is not a semantic version such as 1.0.0`},
		},
		{
			name: "a catalog nobody uses is still checked",
			docs: []any{catalog("starlab", "medium", infra("openstack", ref("missing", infraType, "1.0.0")))},
			want: []string{`medium.yaml:1:1: ClusterCatalog/medium: spec.infrastructure.profile: Infrastructure profile "missing" not found in namespaces starlab, default`},
		},
		{
			name: "a broken catalog is reported once for all its members",
			docs: []any{
				catalog("starlab", "medium", infra("openstack", ref("missing", infraType, "1.0.0"))),
				logicalCluster("starlab", "mec", "starlab", member("edge-1", "medium"), member("edge-2", "medium")),
			},
			want: []string{`medium.yaml:1:1: ClusterCatalog/medium: spec.infrastructure.profile: Infrastructure profile "missing" not found in namespaces starlab, default`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, errorLines(t, set(tt.docs...), tt.opts))
		})
	}
}

// An error points at the line of the field to change when the loader recorded one.
func TestResolveErrorsPointAtTheField(t *testing.T) {
	c := cluster("starlab", "c1", withRecipe(infra("openstack", ref("missing", infraType, "1.0.0"))))
	c.Origin.Fields = map[string]loader.Position{
		"spec.infrastructure":         {File: "c1.yaml", Line: 7, Column: 3},
		"spec.infrastructure.profile": {File: "c1.yaml", Line: 9, Column: 5},
	}
	_, err := Resolve(set(c), Options{})
	var list loader.ErrorList
	assert.ErrorAs(t, err, &list)
	if assert.Len(t, list, 1) {
		e := list[0]
		assert.Equal(t, loader.Position{File: "c1.yaml", Line: 9, Column: 5}, e.Pos)
		assert.Equal(t, "Cluster", e.Kind)
		assert.Equal(t, "c1", e.Name)
		assert.Equal(t, "spec.infrastructure.profile", e.Field)
	}
}

func withOverride(m intentv1.MemberCluster, v *automationv1alpha1.Values) intentv1.MemberCluster {
	m.Override = v
	return m
}

// The version values a chained upgrade and the rules need are lifted into the plan, with
// where they were set.
func TestVersionValuesReachThePlan(t *testing.T) {
	s := set(
		profile("default", "a", infraType, "1.0.0", templatePath("templates/openstack.yaml"),
			values(vals(t, `{kubernetesVersion: v1.37.0, workerKubernetesVersion: v1.36.1, kubernetesVersions: [v1.35.2, v1.36.1]}`))),
		cluster("starlab", "c1", withRecipe(infra("openstack", ref("a", infraType, "1.0.0")))),
	)
	plans := mustResolve(t, s, Options{})
	p := plans[0]
	assert.Equal(t, "v1.37.0", p.KubernetesVersion)
	assert.Equal(t, "v1.36.1", p.WorkerVersion())
	assert.Equal(t, []string{"v1.35.2", "v1.36.1"}, p.KubernetesVersions)
	src, ok := p.SourceOf("kubernetesVersions")
	if assert.True(t, ok) {
		assert.Equal(t, "a-infrastructure-1.0.0.yaml:1:1: InfrastructureProfile/a-infrastructure-1.0.0: spec.values.kubernetesVersions: x",
			src.ErrorAt("", "x").Error())
	}
}
