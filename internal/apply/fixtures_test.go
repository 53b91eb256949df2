package apply

import (
	"fmt"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
)

func profile(ns, name string) *automationv1alpha1.InfrastructureProfile {
	return &automationv1alpha1.InfrastructureProfile{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-infrastructure-1.0.0"},
		Spec: automationv1alpha1.InfrastructureProfileSpec{
			ProfileName: name,
			Type:        automationv1alpha1.InfrastructureProfileType,
			Revision:    "1.0.0",
			Values:      values(`{"kubernetesVersion":"v1.30.0","workerMachineCount":3}`),
		},
	}
}

func catalog(ns, name, profileName string) *automationv1alpha1.ClusterCatalog {
	return &automationv1alpha1.ClusterCatalog{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: automationv1alpha1.ClusterCatalogSpec{
			ClusterRecipe: automationv1alpha1.ClusterRecipe{Infrastructure: infrastructure(profileName)},
			Description:   "catalog " + name,
		},
	}
}

func cluster(ns, name string, workers int) *automationv1alpha1.Cluster {
	c := &automationv1alpha1.Cluster{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: ns, Name: name,
			Labels: map[string]string{automationv1alpha1.RegionLabel: "kr-seoul"},
		},
		Spec: automationv1alpha1.ClusterSpec{
			Tenant:        "starlab",
			ClusterRecipe: automationv1alpha1.ClusterRecipe{Infrastructure: infrastructure("small")},
		},
	}
	c.Spec.Infrastructure.Override = values(fmt.Sprintf(`{"workerMachineCount":%d}`, workers))
	return c
}

func logicalCluster(ns, name string, members ...string) *intentv1.LogicalCluster {
	lc := &intentv1.LogicalCluster{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       intentv1.LogicalClusterSpec{Tenant: "starlab"},
	}
	for _, m := range members {
		lc.Spec.Clusters = append(lc.Spec.Clusters, intentv1.MemberCluster{
			Name:           m,
			ClusterCatalog: "medium",
			Labels:         map[string]string{automationv1alpha1.LocationLabel: "kr-busan"},
		})
	}
	return lc
}

func infrastructure(profileName string) *automationv1alpha1.InfrastructureRecipe {
	return &automationv1alpha1.InfrastructureRecipe{
		Provider: "docker",
		Profile: automationv1alpha1.ProfileReference{
			Name: profileName, Type: automationv1alpha1.InfrastructureProfileType, Revision: "1.0.0",
		},
	}
}

func values(js string) *apiextensionsv1.JSON { return &apiextensionsv1.JSON{Raw: []byte(js)} }

// smallFleet is one of each kind: a profile, a catalog, two clusters and a logical cluster
// with two members.
func smallFleet(ns string) []client.Object {
	return []client.Object{
		profile(ns, "small"),
		catalog(ns, "medium", "small"),
		cluster(ns, "c1", 3),
		cluster(ns, "c2", 3),
		logicalCluster(ns, "mec", "edge-a", "edge-b"),
	}
}
