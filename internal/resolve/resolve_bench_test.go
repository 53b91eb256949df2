package resolve

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/types"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
	"github.com/dcn-ssu/lkaas/internal/loader"
)

// generatedFleet is a repository of the size: 50 profiles (5 template bases, 15
// infrastructure profiles on them, some two deep, 15 network, 15 software) in the shared
// namespace, 10 catalogs, and 10 logical clusters of 100 members each.
func generatedFleet(tb testing.TB) *loader.Set {
	var docs []any
	for i := range 5 {
		docs = append(docs, profile("default", fmt.Sprintf("base-%d", i), infraType, "1.0.0",
			templatePath(fmt.Sprintf("templates/base-%d.yaml", i)),
			values(vals(tb, `{kubernetesVersion: v1.30.1, controlPlaneMachineCount: 1, workerMachineCount: 2, controlplaneFlavor: m1.medium, workerFlavor: m1.large, tags: {tier: base}}`))))
	}
	for i := range 15 {
		parentName := fmt.Sprintf("base-%d", i%5)
		if i >= 5 {
			parentName = fmt.Sprintf("infra-%d", i-5) // a second level of inheritance
		}
		docs = append(docs, profile("default", fmt.Sprintf("infra-%d", i), infraType, "1.0.0",
			parent(ref(parentName, infraType, "^1")),
			values(vals(tb, fmt.Sprintf(`{workerMachineCount: %d, tags: {profile: infra-%d}}`, 2+i%4, i)))))
	}
	for i := range 15 {
		docs = append(docs, profile("default", fmt.Sprintf("net-%d", i), networkType, "1.0.0",
			values(vals(tb, fmt.Sprintf(`{cni: calico, podCIDR: [10.%d.0.0/16], serviceCIDR: 10.200.0.0/16}`, 100+i)))))
		docs = append(docs, profile("default", fmt.Sprintf("sw-%d", i), softType, "1.0.0",
			values(vals(tb, `{chart: {name: prometheus, version: 25.0.0}, values: {replicas: 1}}`))))
	}
	for c := range 10 {
		docs = append(docs, catalog("tenant", fmt.Sprintf("catalog-%d", c),
			infra("openstack", ref(fmt.Sprintf("infra-%d", c+5), infraType, ">=1.0.0 <2.0.0"), vals(tb, `{kubernetesVersion: v1.31.0}`)),
			network("calico", ref(fmt.Sprintf("net-%d", c), networkType, "1.0.0")),
			software("monitoring", ref(fmt.Sprintf("sw-%d", c), softType, "1.0.0")),
			software("logging", ref(fmt.Sprintf("sw-%d", c+5), softType, "~1.0"))))
	}
	for l := range 10 {
		members := make([]any, 0, 100)
		for m := range 100 {
			mc := member(fmt.Sprintf("lc%d-m%03d", l, m), fmt.Sprintf("catalog-%d", m%10))
			mc.Labels = map[string]string{automationv1alpha1.LocationLabel: fmt.Sprintf("site-%d", m)}
			mc.Override = vals(tb, fmt.Sprintf(`{workerMachineCount: %d}`, m%7))
			members = append(members, mc)
		}
		lc := logicalCluster("tenant", fmt.Sprintf("lc-%d", l), "tenant")
		for _, m := range members {
			lc.Object.Spec.Clusters = append(lc.Object.Spec.Clusters, m.(intentv1.MemberCluster))
		}
		docs = append(docs, lc)
	}
	return set(docs...)
}

var oneCluster = Options{Only: []types.NamespacedName{{Namespace: "tenant", Name: "lc4-m042"}}}

func BenchmarkResolve(b *testing.B) {
	s := generatedFleet(b)
	b.Run("all-1000", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			plans, err := Resolve(s, Options{})
			if err != nil || len(plans) != 1000 {
				b.Fatalf("%d plans, %v", len(plans), err)
			}
		}
	})
	b.Run("one", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			plans, err := Resolve(s, oneCluster)
			if err != nil || len(plans) != 1 {
				b.Fatalf("%d plans, %v", len(plans), err)
			}
		}
	})
}

func TestGeneratedFleetResolves(t *testing.T) {
	plans := mustResolve(t, generatedFleet(t), Options{})
	require.Len(t, plans, 1000)
	p := plans[0]
	assert.Equal(t, "lc0-m000", p.Name)
	assert.Equal(t, "v1.31.0", p.KubernetesVersion)
	assert.Equal(t, int32(0), p.WorkerReplicas)
	assert.Len(t, p.Infrastructure.Chain, 3)
	assert.Len(t, p.Software, 2)
}

// A one-cluster change (or a controller reconciling one Cluster) must not pay for the fleet:
// allocations are the stable measure of work here, unlike wall time on a shared machine.
func TestResolvingOneClusterCostsAFraction(t *testing.T) {
	s := generatedFleet(t)
	all := testing.AllocsPerRun(3, func() { _, _ = Resolve(s, Options{}) })
	one := testing.AllocsPerRun(3, func() { _, _ = Resolve(s, oneCluster) })
	t.Logf("allocations: all %.0f, one %.0f (%.1f%%)", all, one, 100*one/all)
	assert.Less(t, one, all/20, "one cluster should cost under 5%% of all")

	plans := mustResolve(t, s, oneCluster)
	require.Len(t, plans, 1)
	assert.Equal(t, "lc4-m042", plans[0].Name)
}
