package tenancy

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/dcn-ssu/lkaas/internal/loader"
)

func obj(apiVersion, kind, name, namespace string) map[string]any {
	md := map[string]any{"name": name}
	if namespace != "" {
		md["namespace"] = namespace
	}
	return map[string]any{"apiVersion": apiVersion, "kind": kind, "metadata": md}
}

func crs(name string, resources ...[2]string) map[string]any {
	o := obj("addons.cluster.x-k8s.io/v1beta2", "ClusterResourceSet", name, "")
	var list []any
	for _, r := range resources {
		list = append(list, map[string]any{"kind": r[0], "name": r[1]})
	}
	o["spec"] = map[string]any{"resources": list}
	return o
}

func at(line int) loader.Position {
	return loader.Position{File: "templates/t.yaml", Line: line, Column: 1}
}

func TestCheck(t *testing.T) {
	capi := []map[string]any{
		obj("cluster.x-k8s.io/v1beta2", "Cluster", "c", ""),
		obj("infrastructure.cluster.x-k8s.io/v1beta1", "OpenStackCluster", "c", "starlab"),
		obj("controlplane.cluster.x-k8s.io/v1beta2", "KubeadmControlPlane", "c-cp", ""),
		obj("bootstrap.cluster.x-k8s.io/v1beta2", "KubeadmConfigTemplate", "c-md", ""),
		obj("ipam.cluster.x-k8s.io/v1beta2", "IPAddressClaim", "c-ip", ""),
	}
	tests := []struct {
		name   string
		docs   []map[string]any
		policy Policy
		// want is one line per refused document, in the loader's text form.
		want []string
	}{
		{name: "the Cluster API groups pass", docs: capi},
		{
			name: "a ConfigMap and a Secret a ClusterResourceSet names pass",
			docs: []map[string]any{
				crs("cni", [2]string{"ConfigMap", "calico"}, [2]string{"Secret", "cloud"}),
				obj("v1", "ConfigMap", "calico", ""), obj("v1", "Secret", "cloud", "starlab"),
			},
		},
		{
			name: "the credentials Secret an infrastructure identityRef names passes",
			docs: []map[string]any{
				func() map[string]any {
					o := obj("infrastructure.cluster.x-k8s.io/v1beta1", "OpenStackCluster", "c", "")
					o["spec"] = map[string]any{"identityRef": map[string]any{"name": "c-cloud-config", "cloudName": "openstack"}}
					return o
				}(),
				obj("v1", "Secret", "c-cloud-config", ""),
			},
		},
		{
			name: "a ClusterRoleBinding is cluster-scoped",
			docs: []map[string]any{obj("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "pwn", "")},
			want: []string{"templates/t.yaml:1:1: ClusterRoleBinding/pwn: kind: ClusterRoleBinding (rbac.authorization.k8s.io) is cluster-scoped: a fleet repository may create only namespaced objects in its cluster's namespace"},
		},
		{
			name: "a Pod is not a kind a cluster is made of",
			docs: []map[string]any{obj("v1", "Pod", "miner", "")},
			want: []string{"templates/t.yaml:1:1: Pod/miner: kind: Pod (core) is not a kind a cluster is made of: allowed are the Cluster API groups (cluster.x-k8s.io, bootstrap.cluster.x-k8s.io, controlplane.cluster.x-k8s.io, infrastructure.cluster.x-k8s.io, addons.cluster.x-k8s.io, ipam.cluster.x-k8s.io, infrastructure.automation.dcn.ssu.ac.kr, controlplane.automation.dcn.ssu.ac.kr), the ConfigMaps and Secrets the template's ClusterResourceSets or identityRefs name, and the kinds the Fleet's spec.extraAllowedKinds adds"},
		},
		{
			name: "a Cluster API object aimed at kube-system",
			docs: []map[string]any{obj("cluster.x-k8s.io/v1beta2", "MachineDeployment", "md", "kube-system")},
			want: []string{`templates/t.yaml:1:1: MachineDeployment/md: metadata.namespace: namespace "kube-system": a cluster's objects may live only in its own namespace "starlab"; remove metadata.namespace or use ${NAMESPACE}`},
		},
		{
			name: "a Secret no ClusterResourceSet names",
			docs: []map[string]any{crs("cni", [2]string{"ConfigMap", "calico"}), obj("v1", "Secret", "calico", "")},
			want: []string{"templates/t.yaml:2:1: Secret/calico: kind: a Secret may be created only when the same template gives it a use (a ClusterResourceSet's spec.resources, an infrastructure object's spec.identityRef); none names Secret/calico"},
		},
		{
			name: "a ClusterResourceSet and its Secret aimed at another tenant",
			docs: []map[string]any{crs("steal", [2]string{"Secret", "creds"}), obj("v1", "Secret", "creds", "other-tenant")},
			want: []string{`templates/t.yaml:2:1: Secret/creds: metadata.namespace: namespace "other-tenant": a cluster's objects may live only in its own namespace "starlab"; remove metadata.namespace or use ${NAMESPACE}`},
		},
		{
			name: "a ConfigMap named by a CRS of another API group does not count",
			docs: []map[string]any{
				func() map[string]any {
					o := crs("fake")
					o["apiVersion"] = "example.com/v1"
					o["spec"] = crs("x", [2]string{"ConfigMap", "c"})["spec"]
					return o
				}(),
				obj("v1", "ConfigMap", "c", ""),
			},
			want: []string{
				"templates/t.yaml:1:1: ClusterResourceSet/fake: kind: ClusterResourceSet (example.com) is not a kind a cluster is made of: allowed are the Cluster API groups (cluster.x-k8s.io, bootstrap.cluster.x-k8s.io, controlplane.cluster.x-k8s.io, infrastructure.cluster.x-k8s.io, addons.cluster.x-k8s.io, ipam.cluster.x-k8s.io, infrastructure.automation.dcn.ssu.ac.kr, controlplane.automation.dcn.ssu.ac.kr), the ConfigMaps and Secrets the template's ClusterResourceSets or identityRefs name, and the kinds the Fleet's spec.extraAllowedKinds adds",
				"templates/t.yaml:2:1: ConfigMap/c: kind: a ConfigMap may be created only when the same template gives it a use (a ClusterResourceSet's spec.resources, an infrastructure object's spec.identityRef); none names ConfigMap/c",
			},
		},
		{
			name: "a cluster-scoped kind inside a Cluster API group",
			docs: []map[string]any{obj("infrastructure.cluster.x-k8s.io/v1beta1", "VSphereClusterIdentity", "id", "")},
			want: []string{"templates/t.yaml:1:1: VSphereClusterIdentity/id: kind: VSphereClusterIdentity (infrastructure.cluster.x-k8s.io) is cluster-scoped: a fleet repository may create only namespaced objects in its cluster's namespace"},
		},
		{
			name:   "the Fleet widens the list with a provider kind",
			docs:   []map[string]any{obj("ipam.metal3.io/v1alpha1", "IPPool", "pool", "")},
			policy: Policy{ExtraKinds: ParseKinds([]string{"IPPool.ipam.metal3.io"})},
		},
		{
			name:   "widening never admits a cluster-scoped kind",
			docs:   []map[string]any{obj("rbac.authorization.k8s.io/v1", "ClusterRole", "r", "")},
			policy: Policy{ExtraKinds: ParseKinds([]string{"ClusterRole.rbac.authorization.k8s.io"})},
			want:   []string{"templates/t.yaml:1:1: ClusterRole/r: kind: ClusterRole (rbac.authorization.k8s.io) is cluster-scoped: a fleet repository may create only namespaced objects in its cluster's namespace"},
		},
		{
			name: "the API server's scope wins over the built-in list",
			docs: []map[string]any{obj("infrastructure.cluster.x-k8s.io/v1beta1", "FooClusterWide", "f", "")},
			policy: Policy{Scope: func(gk schema.GroupKind) (bool, bool) {
				return gk.Kind == "FooClusterWide", true
			}},
			want: []string{"templates/t.yaml:1:1: FooClusterWide/f: kind: FooClusterWide (infrastructure.cluster.x-k8s.io) is cluster-scoped: a fleet repository may create only namespaced objects in its cluster's namespace"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs := make([]Document, len(tt.docs))
			for i, o := range tt.docs {
				docs[i] = Document{Pos: at(i + 1), Object: o}
			}
			p := tt.policy
			p.Namespace = "starlab"
			errs := Check(docs, p)
			var got []string
			for _, e := range errs {
				got = append(got, e.Error())
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseKinds(t *testing.T) {
	got := ParseKinds([]string{"IPPool.ipam.metal3.io", " ConfigMap ", "IPPool.ipam.metal3.io", ""})
	require.Equal(t, []schema.GroupKind{{Kind: "ConfigMap"}, {Group: "ipam.metal3.io", Kind: "IPPool"}}, got)
}
