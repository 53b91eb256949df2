package render

import (
	"fmt"
	"path/filepath"
	"runtime"
	"testing"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/internal/resolve"
)

const (
	openstackTemplatePath = "gitops-examples/fleet-repo/templates/openstack/cluster-template.yaml"
	inMemoryTemplatePath  = "gitops-examples/fleet-repo/templates/docker-inmemory/cluster-template.yaml"
	calicoManifestPath    = "internal/render/testdata/addons/calico.yaml"
)

// repoRoot is the repository root, found from this file, so templates are read by the same
// repository-relative paths a profile uses.
func repoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the test file")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

func key(ns, name string, typ automationv1alpha1.ProfileType, rev string) resolve.ProfileKey {
	return resolve.ProfileKey{Namespace: ns, Name: name, Type: typ, Revision: rev}
}

// openstackFleetVariables are what a Fleet's variablesFrom would hold for an OpenStack site.
func openstackFleetVariables() map[string]string {
	return map[string]string{
		"OPENSTACK_CLOUD_YAML_B64":      "Y2xvdWRzOiB7fQo=", // "clouds: {}"
		"OPENSTACK_IMAGE_NAME":          "ubuntu-2204-kube-v1.25.0",
		"OPENSTACK_SSH_KEY_NAME":        "lkaas-admin",
		"OPENSTACK_EXTERNAL_NETWORK_ID": "5f0c2e4a-1b7d-4c52-9d0e-3a6f8b2c1d90",
	}
}

// seedClusterSamplePlan is the plan the resolver makes of the seed deck's cluster-sample:
// the openstack-small-cluster profile (parent clusterapi-resource-template-default) with
// the Cluster's override kubernetesVersion v1.25.0, calico-v1 and prometheus-default. The
// template is named by path here (the seed's url form is tested separately), the calico
// profile names its manifests, and the prometheus profile a chart.
func seedClusterSamplePlan() *resolve.Plan {
	return &resolve.Plan{
		Namespace: "starlab",
		Name:      "cluster-sample",
		Tenant:    "starlab",
		Labels: map[string]string{
			automationv1alpha1.RegionLabel: "kr-seoul",
			automationv1alpha1.ZoneLabel:   "public",
		},
		Provider: "openstack",
		Infrastructure: resolve.ResolvedProfile{
			Key: key("default", "openstack-small-cluster", automationv1alpha1.InfrastructureProfileType, "1.0.0"),
			Chain: []resolve.ProfileKey{
				key("default", "openstack-small-cluster", automationv1alpha1.InfrastructureProfileType, "1.0.0"),
				key("default", "clusterapi-resource-template-default", automationv1alpha1.InfrastructureProfileType, "1.0.0"),
			},
			Template: &automationv1alpha1.TemplateSource{Path: openstackTemplatePath},
			Values: map[string]any{
				"kubernetesVersion":        "v1.25.0",
				"controlPlaneMachineCount": float64(1),
				"workerMachineCount":       float64(3),
				"controlplaneFlavor":       "m1.medium",
				"workerFlavor":             "m1.large",
			},
		},
		Network: &resolve.Addon{
			Name: "calico-v1",
			Profile: resolve.ResolvedProfile{
				Key: key("default", "calico-v1", automationv1alpha1.NetworkProfileType, "1.0.0"),
				Values: map[string]any{
					"cni":         "calico",
					"version":     "0.20.0",
					"podCIDR":     []any{"10.96.0.0/12"},
					"serviceCIDR": []any{"192.168.0.0/16"},
					"manifests":   []any{calicoManifestPath},
				},
			},
		},
		Software: []resolve.Addon{{
			Name: "prometheus",
			Profile: resolve.ResolvedProfile{
				Key: key("default", "prometheus-default", automationv1alpha1.SoftwareProfileType, "1.0.0"),
				Values: map[string]any{
					"version": "2.41.0",
					"chart": map[string]any{
						"repoURL":   "https://prometheus-community.github.io/helm-charts",
						"name":      "prometheus",
						"namespace": "monitoring",
					},
					"values": map[string]any{
						"server": map[string]any{
							"extraConfigmapMounts": []any{map[string]any{
								"name": "config", "configMap": "prometheus-config", "mountPath": "/etc/config-extra",
							}},
						},
					},
				},
			},
		}},
		KubernetesVersion:    "v1.25.0",
		ControlPlaneReplicas: 1,
		WorkerReplicas:       3,
		ControlPlaneFlavor:   "m1.medium",
		WorkerFlavor:         "m1.large",
		PodCIDRs:             []string{"10.96.0.0/12"},
		ServiceCIDRs:         []string{"192.168.0.0/16"},
	}
}

// inMemoryPlan is a CAPD in-memory cluster, the kind tests and the demo build for real.
func inMemoryPlan(i int) *resolve.Plan {
	name := fmt.Sprintf("edge-%03d", i)
	return &resolve.Plan{
		Namespace:      "starlab",
		Name:           name,
		LogicalCluster: "mec-cluster",
		Tenant:         "starlab",
		Provider:       "docker",
		Infrastructure: resolve.ResolvedProfile{
			Key:      key("default", "inmemory-small", automationv1alpha1.InfrastructureProfileType, "1.2.0"),
			Template: &automationv1alpha1.TemplateSource{Path: inMemoryTemplatePath},
			Values: map[string]any{
				"kubernetesVersion":        "v1.34.1",
				"controlPlaneMachineCount": float64(3),
				"workerMachineCount":       float64(2),
				"vmStartupDuration":        "3s",
			},
		},
		Network: &resolve.Addon{
			Name: "calico",
			Profile: resolve.ResolvedProfile{
				Key: key("default", "calico-v1", automationv1alpha1.NetworkProfileType, "1.0.0"),
				Values: map[string]any{
					"podCIDR":     "10.244.0.0/16",
					"serviceCIDR": "10.96.0.0/12",
					"manifests":   []any{calicoManifestPath},
				},
			},
		},
		KubernetesVersion:    "v1.34.1",
		ControlPlaneReplicas: 3,
		WorkerReplicas:       2,
		PodCIDRs:             []string{"10.244.0.0/16"},
		ServiceCIDRs:         []string{"10.96.0.0/12"},
	}
}

// topologyPlan is a cluster whose profile names CAPD's in-memory ClusterClass.
func topologyPlan() *resolve.Plan {
	return &resolve.Plan{
		Namespace: "starlab",
		Name:      "core-5g",
		Tenant:    "starlab",
		Provider:  "docker",
		Infrastructure: resolve.ResolvedProfile{
			Key:          key("default", "inmemory-class", automationv1alpha1.InfrastructureProfileType, "2.0.0"),
			ClusterClass: &automationv1alpha1.ClusterClassReference{Name: "in-memory", Namespace: "default"},
			Values: map[string]any{
				"kubernetesVersion": "v1.34.1",
				"workerClass":       "default-worker",
				"topologyVariables": map[string]any{
					"imageRepository": "registry.k8s.io",
					"etcdConfig":      map[string]any{"quotaBackendBytes": float64(8589934592)},
				},
			},
		},
		Software: []resolve.Addon{{
			Name: "metrics",
			Profile: resolve.ResolvedProfile{
				Key: key("default", "metrics-server", automationv1alpha1.SoftwareProfileType, "0.7.2"),
				Values: map[string]any{
					"chart": map[string]any{
						"repoURL": "https://kubernetes-sigs.github.io/metrics-server/",
						"name":    "metrics-server",
						"version": "3.12.2",
					},
					"values": map[string]any{"args": []any{"--kubelet-insecure-tls"}},
				},
			},
		}},
		KubernetesVersion:    "v1.34.1",
		ControlPlaneReplicas: 3,
		WorkerReplicas:       4,
		PodCIDRs:             []string{"192.168.0.0/16"},
		ServiceCIDRs:         []string{"10.128.0.0/12"},
	}
}
