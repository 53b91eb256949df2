package render

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/dcn-ssu/lkaas/internal/resolve"
)

func TestCamelCaseKeysBecomeUpperSnakeNames(t *testing.T) {
	for in, want := range map[string]string{
		"kubernetesVersion":        "KUBERNETES_VERSION",
		"controlPlaneMachineCount": "CONTROL_PLANE_MACHINE_COUNT",
		"workerMachineCount":       "WORKER_MACHINE_COUNT",
		"controlplaneFlavor":       "CONTROLPLANE_FLAVOR",
		"externalNetworkID":        "EXTERNAL_NETWORK_ID",
		"podCIDR":                  "POD_CIDR",
		"k8sVersion":               "K8S_VERSION",
		"IDFoo":                    "ID_FOO",
		"with-dash.dot":            "WITH_DASH_DOT",
		"9lives":                   "",
		"":                         "",
	} {
		assert.Equal(t, want, upperSnake(in), in)
	}
}

func TestVariablesLayerFleetValuesPlanAndCredentials(t *testing.T) {
	plan := seedClusterSamplePlan()
	plan.Infrastructure.Values["image"] = "from-profile"
	plan.Infrastructure.Values["openstackCloudYamlB64"] = "cHJvZmlsZQ==" // a profile trying to swap credentials
	plan.Infrastructure.Values["dnsNameservers"] = []any{"10.0.0.53"}
	plan.Infrastructure.Values["clusterName"] = "hijack"
	fleet := map[string]string{
		"OPENSTACK_IMAGE_NAME":     "from-fleet",
		"OPENSTACK_CLOUD_YAML_B64": "ZmxlZXQ=",
		"SITE_ONLY":                "site",
	}
	v := Variables(plan, fleet)

	assert.Equal(t, "from-profile", v["OPENSTACK_IMAGE_NAME"], "profile values win over Fleet variables")
	assert.Equal(t, "ZmxlZXQ=", v["OPENSTACK_CLOUD_YAML_B64"], "Fleet credentials win over profile values")
	assert.Equal(t, "site", v["SITE_ONLY"])
	assert.Equal(t, "cluster-sample", v["CLUSTER_NAME"], "render-owned names win over everything")
	assert.Equal(t, "starlab", v["NAMESPACE"])
	assert.Equal(t, "v1.25.0", v["KUBERNETES_VERSION"])
	assert.Equal(t, "1", v["CONTROL_PLANE_MACHINE_COUNT"])
	assert.Equal(t, "3", v["WORKER_MACHINE_COUNT"])
	assert.Equal(t, "m1.medium", v["OPENSTACK_CONTROL_PLANE_MACHINE_FLAVOR"])
	assert.Equal(t, "m1.large", v["OPENSTACK_NODE_MACHINE_FLAVOR"])
	assert.Equal(t, "m1.medium", v["CONTROLPLANE_FLAVOR"], "the generic name is kept next to the alias")
	assert.Equal(t, `["10.0.0.53"]`, v["OPENSTACK_DNS_NAMESERVERS"])
	assert.Equal(t, `["10.96.0.0/12"]`, v["POD_CIDR"])
	assert.Equal(t, `["192.168.0.0/16"]`, v["SERVICE_CIDR"])
}

func TestNetworkProfileCIDRsStandInWhenThePlanHasNone(t *testing.T) {
	plan := inMemoryPlan(0)
	plan.PodCIDRs, plan.ServiceCIDRs = nil, nil
	v := Variables(plan, nil)
	assert.Equal(t, `["10.244.0.0/16"]`, v["POD_CIDR"])
	assert.Equal(t, `["10.96.0.0/12"]`, v["SERVICE_CIDR"])
}

func TestProviderFamiliesMatchByPrefix(t *testing.T) {
	assert.Equal(t, "openstack", providerFamily("openstack"))
	assert.Equal(t, "openstack", providerFamily("openstack-v1"))
	assert.Equal(t, "docker", providerFamily("docker"))
	assert.Equal(t, "in-memory", providerFamily("in-memory"))
	assert.Equal(t, "", providerFamily("openstackish"))
	assert.Equal(t, "", providerFamily("aws"))
}

func TestLabelValuesAreAlwaysValid(t *testing.T) {
	long := "a-very-long-profile-name-that-goes-on-and-on-and-on-and-on-and-on-1.0.0+build.5"
	for _, in := range []string{long, "calico-v1-1.0.0", "Weird Name/With:chars", "-edge-", "1.0.0+meta"} {
		v := labelValue(in)
		assert.Empty(t, validation.IsValidLabelValue(v), "%q -> %q", in, v)
		assert.LessOrEqual(t, len(v), 63)
	}
	assert.NotEqual(t, labelValue(long), labelValue(long+"x"), "shortened values stay distinct")

	res, err := Render(inMemoryPlan(7), Options{Root: repoRoot(t)})
	assert.NoError(t, err)
	for _, o := range res.Objects {
		for k, v := range o.GetLabels() {
			assert.Empty(t, validation.IsQualifiedName(k), k)
			assert.Empty(t, validation.IsValidLabelValue(v), "%s=%s", k, v)
		}
	}
	_ = resolve.Plan{}
}
