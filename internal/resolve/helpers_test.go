package resolve

import (
	"testing"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
	"github.com/dcn-ssu/lkaas/internal/loader"
)

// Constructors of canonical documents, so a test reads as the repository it stands for. Each
// document sits alone in a file named after it, at line 1, so error texts are predictable.

func origin(name string) loader.Origin {
	return loader.Origin{Pos: loader.Position{File: name + ".yaml", Line: 1, Column: 1}}
}

// vals turns a YAML flow map such as `{workerMachineCount: 3}` into Values.
func vals(t testing.TB, text string) *automationv1alpha1.Values {
	t.Helper()
	raw, err := yaml.YAMLToJSON([]byte(text))
	require.NoError(t, err)
	return &automationv1alpha1.Values{Raw: raw}
}

func ref(name string, typ automationv1alpha1.ProfileType, revision string) automationv1alpha1.ProfileReference {
	return automationv1alpha1.ProfileReference{Name: name, Type: typ, Revision: revision}
}

const (
	infraType   = automationv1alpha1.InfrastructureProfileType
	networkType = automationv1alpha1.NetworkProfileType
	softType    = automationv1alpha1.SoftwareProfileType
)

type profileOption func(*automationv1alpha1.InfrastructureProfile)

func parent(r automationv1alpha1.ProfileReference) profileOption {
	return func(p *automationv1alpha1.InfrastructureProfile) { p.Spec.Parent = &r }
}

func values(v *automationv1alpha1.Values) profileOption {
	return func(p *automationv1alpha1.InfrastructureProfile) { p.Spec.Values = v }
}

func templateURL(url, version, filename string) profileOption {
	return func(p *automationv1alpha1.InfrastructureProfile) {
		p.Spec.Template = &automationv1alpha1.TemplateSource{URL: url, Version: version, Filename: filename}
	}
}

func templatePath(path string) profileOption {
	return func(p *automationv1alpha1.InfrastructureProfile) {
		p.Spec.Template = &automationv1alpha1.TemplateSource{Path: path}
	}
}

func clusterClass(name string) profileOption {
	return func(p *automationv1alpha1.InfrastructureProfile) {
		p.Spec.ClusterClass = &automationv1alpha1.ClusterClassReference{Name: name}
	}
}

// profile builds a profile revision named as the loader names it: "<name>-<type>-<revision>".
func profile(namespace, name string, typ automationv1alpha1.ProfileType, revision string, opts ...profileOption) loader.Doc[*automationv1alpha1.InfrastructureProfile] {
	objectName := name + "-" + lower(string(typ)) + "-" + revision
	p := &automationv1alpha1.InfrastructureProfile{
		ObjectMeta: metav1.ObjectMeta{Name: objectName, Namespace: namespace},
		Spec:       automationv1alpha1.InfrastructureProfileSpec{ProfileName: name, Type: typ, Revision: revision},
	}
	for _, o := range opts {
		o(p)
	}
	return loader.Doc[*automationv1alpha1.InfrastructureProfile]{Object: p, Origin: origin(objectName)}
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

type recipeOption func(*automationv1alpha1.ClusterRecipe)

func infra(provider string, r automationv1alpha1.ProfileReference, override ...*automationv1alpha1.Values) recipeOption {
	return func(rc *automationv1alpha1.ClusterRecipe) {
		rc.Infrastructure = &automationv1alpha1.InfrastructureRecipe{Provider: provider, Profile: r}
		if len(override) > 0 {
			rc.Infrastructure.Override = override[0]
		}
	}
}

func network(name string, r automationv1alpha1.ProfileReference, override ...*automationv1alpha1.Values) recipeOption {
	return func(rc *automationv1alpha1.ClusterRecipe) {
		rc.Network = &automationv1alpha1.AddonRecipe{Name: name, Profile: r}
		if len(override) > 0 {
			rc.Network.Override = override[0]
		}
	}
}

func software(name string, r automationv1alpha1.ProfileReference) recipeOption {
	return func(rc *automationv1alpha1.ClusterRecipe) {
		rc.Software = append(rc.Software, automationv1alpha1.AddonRecipe{Name: name, Profile: r})
	}
}

func recipe(opts ...recipeOption) automationv1alpha1.ClusterRecipe {
	var rc automationv1alpha1.ClusterRecipe
	for _, o := range opts {
		o(&rc)
	}
	return rc
}

func catalog(namespace, name string, opts ...recipeOption) loader.Doc[*automationv1alpha1.ClusterCatalog] {
	c := &automationv1alpha1.ClusterCatalog{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec:       automationv1alpha1.ClusterCatalogSpec{ClusterRecipe: recipe(opts...)},
	}
	return loader.Doc[*automationv1alpha1.ClusterCatalog]{Object: c, Origin: origin(name)}
}

type clusterOption func(*automationv1alpha1.Cluster)

func fromCatalog(name string) clusterOption {
	return func(c *automationv1alpha1.Cluster) { c.Spec.ClusterCatalog = name }
}

func withRecipe(opts ...recipeOption) clusterOption {
	return func(c *automationv1alpha1.Cluster) {
		for _, o := range opts {
			o(&c.Spec.ClusterRecipe)
		}
	}
}

func override(v *automationv1alpha1.Values) clusterOption {
	return func(c *automationv1alpha1.Cluster) { c.Spec.Override = v }
}

func labels(l map[string]string) clusterOption {
	return func(c *automationv1alpha1.Cluster) { c.Labels = l }
}

func cluster(namespace, name string, opts ...clusterOption) loader.Doc[*automationv1alpha1.Cluster] {
	c := &automationv1alpha1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace}}
	for _, o := range opts {
		o(c)
	}
	return loader.Doc[*automationv1alpha1.Cluster]{Object: c, Origin: origin(name)}
}

func member(name, catalogName string, opts ...recipeOption) intentv1.MemberCluster {
	return intentv1.MemberCluster{Name: name, ClusterCatalog: catalogName, ClusterRecipe: recipe(opts...)}
}

func logicalCluster(namespace, name, tenant string, members ...intentv1.MemberCluster) loader.Doc[*intentv1.LogicalCluster] {
	lc := &intentv1.LogicalCluster{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec:       intentv1.LogicalClusterSpec{Tenant: tenant, Clusters: members},
	}
	return loader.Doc[*intentv1.LogicalCluster]{Object: lc, Origin: origin(name)}
}

// set gathers documents of any kind into a Set.
func set(docs ...any) *loader.Set {
	s := &loader.Set{}
	for _, d := range docs {
		switch d := d.(type) {
		case loader.Doc[*automationv1alpha1.InfrastructureProfile]:
			s.Profiles = append(s.Profiles, d)
		case loader.Doc[*automationv1alpha1.ClusterCatalog]:
			s.Catalogs = append(s.Catalogs, d)
		case loader.Doc[*automationv1alpha1.Cluster]:
			s.Clusters = append(s.Clusters, d)
		case loader.Doc[*intentv1.LogicalCluster]:
			s.LogicalClusters = append(s.LogicalClusters, d)
		default:
			panic("set: not a document")
		}
	}
	return s
}

// seedProfiles are the seed deck's four profiles in canonical form (api/testdata/canonical).
func seedProfiles(t testing.TB) []any {
	return []any{
		profile("default", "openstack-small-cluster", infraType, "1.0.0",
			parent(ref("clusterapi-resource-template-default", infraType, "1.0.0")),
			values(vals(t, `{kubernetesVersion: v1.24.8, controlPlaneMachineCount: 1, workerMachineCount: 3, controlplaneFlavor: m1.medium, workerFlavor: m1.large}`))),
		profile("default", "calico-v1", networkType, "1.0.0",
			values(vals(t, `{cni: calico, version: 0.20.0, podCIDR: ["10.96.0.0/12"], serviceCIDR: ["192.168.0.0/16"]}`))),
		profile("default", "clusterapi-resource-template-default", infraType, "1.0.0",
			templateURL("https://github.com/kubernetes-sigs/cluster-api-provider-openstack/releases", "v0.7.0", "cluster-template.yaml")),
		profile("default", "prometheus-default", softType, "1.0.0",
			values(vals(t, `{version: 2.41.0, volumeMounts: [{name: config}], volumes: [{name: config, configMap: {name: prometheus-config}}]}`))),
	}
}

// seedClusterSample is the seed's cluster-sample in canonical form.
func seedClusterSample(t testing.TB) loader.Doc[*automationv1alpha1.Cluster] {
	d := cluster("starlab", "cluster-sample",
		labels(map[string]string{automationv1alpha1.RegionLabel: "kr-seoul", automationv1alpha1.ZoneLabel: "public"}),
		withRecipe(
			infra("openstack", ref("openstack-small-cluster", infraType, "1.0.0"), vals(t, `{kubernetesVersion: v1.25.0}`)),
			network("calico-v1", ref("calico-v1", networkType, "1.0.0")),
			software("prometheus", ref("prometheus-default", softType, "1.0.0")),
		))
	d.Object.Spec.Tenant = "starlab"
	return d
}

// mustResolve resolves a set that has no problems.
func mustResolve(t testing.TB, s *loader.Set, opts Options) []*Plan {
	t.Helper()
	plans, err := Resolve(s, opts)
	require.NoError(t, err)
	return plans
}

// errorLines resolves a set and returns its problems, one text per problem.
func errorLines(t testing.TB, s *loader.Set, opts Options) []string {
	t.Helper()
	_, err := Resolve(s, opts)
	if err == nil {
		return nil
	}
	var list loader.ErrorList
	require.ErrorAs(t, err, &list)
	out := make([]string, len(list))
	for i, e := range list {
		out[i] = e.Error()
	}
	return out
}
