package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
)

// getTable asks the API server for the table that `kubectl get` prints.
func getTable(t *testing.T, group, version, namespace, plural string) metav1.Table {
	t.Helper()
	httpClient, err := rest.HTTPClientFor(env.Config)
	require.NoError(t, err)
	url := fmt.Sprintf("%s/apis/%s/%s/namespaces/%s/%s", strings.TrimSuffix(env.Config.Host, "/"), group, version, namespace, plural)
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
	resp, err := httpClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var table metav1.Table
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&table))
	return table
}

// columns are the names kubectl shows without -o wide, and the first row's cells by name.
func columns(table metav1.Table) ([]string, map[string]any) {
	var names []string
	cells := map[string]any{}
	for i, c := range table.ColumnDefinitions {
		if c.Priority != 0 {
			continue
		}
		names = append(names, c.Name)
		if len(table.Rows) > 0 {
			cells[c.Name] = table.Rows[0].Cells[i]
		}
	}
	return names, cells
}

func TestKubectlGetShowsUsefulColumns(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ns := env.Namespace(t)
	for _, doc := range readDocs(t, filepath.Join("testdata", "canonical")) {
		doc.SetNamespace(ns)
		require.NoError(t, env.Client.Create(ctx, doc))
	}

	ready := metav1.Condition{Type: "Ready", Status: metav1.ConditionTrue, Reason: "Succeeded",
		Message: "Applied revision: main@sha1:0123abc", LastTransitionTime: metav1.Now()}

	cluster := &automationv1alpha1.Cluster{}
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "cluster-sample"}, cluster))
	cluster.Status.Phase = automationv1alpha1.ClusterPhaseReady
	cluster.Status.ControlPlaneVersion = "v1.25.0"
	cluster.Status.Conditions = []metav1.Condition{ready}
	require.NoError(t, env.Client.Status().Update(ctx, cluster))

	lc := &intentv1.LogicalCluster{}
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "mec-cluster"}, lc))
	lc.Status.Phase = automationv1alpha1.ClusterPhaseUpgrading
	lc.Status.ReadyMembers, lc.Status.TotalMembers = 3, 4
	lc.Status.Conditions = []metav1.Condition{ready}
	require.NoError(t, env.Client.Status().Update(ctx, lc))

	fleet := &automationv1alpha1.Fleet{}
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "starlab"}, fleet))
	fleet.Status.LastAppliedRevision = "main@sha1:0123abc"
	fleet.Status.Conditions = []metav1.Condition{ready}
	require.NoError(t, env.Client.Status().Update(ctx, fleet))

	automation, intent := automationv1alpha1.GroupVersion, intentv1.GroupVersion
	cases := []struct {
		group, version, plural, firstRow string
		columns                          []string
		cells                            map[string]any
	}{
		{automation.Group, automation.Version, "infrastructureprofiles", "calico-v1-network-1.0.0",
			[]string{"Name", "Profile", "Type", "Revision", "Parent", "Age"},
			map[string]any{"Profile": "calico-v1", "Type": "Network", "Revision": "1.0.0"}},
		{automation.Group, automation.Version, "clustercatalogs", "core5g-cluster",
			[]string{"Name", "Provider", "Infrastructure", "Network", "Used By", "Age"},
			map[string]any{"Provider": "openstack-v1", "Infrastructure": "openstack-medium-cluster-v1", "Network": "cilium-v1-default"}},
		{automation.Group, automation.Version, "clusters", "cluster-sample",
			[]string{"Name", "Phase", "Version", "Catalog", "Ready", "Status", "Age"},
			map[string]any{"Phase": "Ready", "Version": "v1.25.0", "Ready": "True", "Status": "Applied revision: main@sha1:0123abc"}},
		{intent.Group, intent.Version, "logicalclusters", "mec-cluster",
			[]string{"Name", "Phase", "Ready Members", "Members", "Ready", "Age"},
			map[string]any{"Phase": "Upgrading", "Ready Members": float64(3), "Members": float64(4), "Ready": "True"}},
		{automation.Group, automation.Version, "fleets", "starlab",
			[]string{"Name", "Source", "Revision", "Suspended", "Ready", "Status", "Age"},
			map[string]any{"Source": "starlab-fleet", "Revision": "main@sha1:0123abc", "Suspended": nil,
				"Ready": "True", "Status": "Applied revision: main@sha1:0123abc"}},
	}
	for _, tc := range cases {
		t.Run(tc.plural, func(t *testing.T) {
			table := getTable(t, tc.group, tc.version, ns, tc.plural)
			require.NotEmpty(t, table.Rows)
			names, cells := columns(table)
			assert.Equal(t, tc.columns, names)
			assert.Equal(t, tc.firstRow, cells["Name"])
			for k, v := range tc.cells {
				assert.Equal(t, v, cells[k], "column %q", k)
			}
		})
	}
}

// The L-KaaS Cluster shares its kind name with CAPI's; its short name and the lkaas category
// let people ask for it unambiguously (kubectl get lkc, kubectl get lkaas).
func TestShortNamesAndCategory(t *testing.T) {
	ctx := context.Background()
	want := map[string][]string{
		"infrastructureprofiles.automation.dcn.ssu.ac.kr": {"lkp", "profile"},
		"clustercatalogs.automation.dcn.ssu.ac.kr":        {"lkcat", "catalog"},
		"clusters.automation.dcn.ssu.ac.kr":               {"lkc"},
		"fleets.automation.dcn.ssu.ac.kr":                 {"lkf"},
		"logicalclusters.intent.automation.dcn.ssu.ac.kr": {"lklc", "lcluster"},
	}
	for name, shortNames := range want {
		crd := &unstructured.Unstructured{}
		crd.SetAPIVersion("apiextensions.k8s.io/v1")
		crd.SetKind("CustomResourceDefinition")
		require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Name: name}, crd))
		got, _, _ := unstructured.NestedStringSlice(crd.Object, "spec", "names", "shortNames")
		assert.Equal(t, shortNames, got, name)
		categories, _, _ := unstructured.NestedStringSlice(crd.Object, "spec", "names", "categories")
		assert.Equal(t, []string{"lkaas"}, categories, name)
	}
}
