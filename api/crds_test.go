package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dcn-ssu/lkaas/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Run(m, &env) }

// readDocs reads every YAML document of the files in dir, in file then document order.
func readDocs(t *testing.T, dir string) []*unstructured.Unstructured {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	require.NoError(t, err)
	sort.Strings(files)
	var docs []*unstructured.Unstructured
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		docs = append(docs, decodeAll(t, data)...)
	}
	return docs
}

func decodeAll(t *testing.T, data []byte) []*unstructured.Unstructured {
	t.Helper()
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var docs []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		err := dec.Decode(&u.Object)
		if errors.Is(err, io.EOF) {
			return docs
		}
		require.NoError(t, err)
		if len(u.Object) > 0 {
			docs = append(docs, u)
		}
	}
}

func toJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

func ensureNamespace(t *testing.T, name string) {
	t.Helper()
	err := env.Client.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		require.NoError(t, err)
	}
}

// The canonical form of every seed example is accepted by the real API server and read back
// unchanged: no field is pruned, defaulted away or rejected.
func TestSeedExamplesApplyAndReadBack(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ensureNamespace(t, "starlab")

	docs := readDocs(t, filepath.Join("testdata", "canonical"))
	kinds := map[string]int{}
	for _, d := range docs {
		kinds[d.GetKind()]++
	}
	assert.Equal(t, map[string]int{
		"InfrastructureProfile": 4, "ClusterCatalog": 2, "Cluster": 1, "LogicalCluster": 1, "Fleet": 1,
	}, kinds, "one object per seed example, plus a Fleet")

	for _, doc := range docs {
		t.Run(doc.GetKind()+"/"+doc.GetName(), func(t *testing.T) {
			sent := doc.DeepCopy()
			require.NoError(t, env.Client.Create(ctx, doc))

			got := &unstructured.Unstructured{}
			got.SetGroupVersionKind(sent.GroupVersionKind())
			require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(sent), got))
			assert.JSONEq(t, toJSON(t, sent.Object["spec"]), toJSON(t, got.Object["spec"]))
			assert.Equal(t, sent.GetLabels(), got.GetLabels())
		})
	}
}

// Documents that break a rule are refused by the API server with a message naming the field,
// and nothing is stored.
func TestInvalidDocumentsAreRefusedNamingTheField(t *testing.T) {
	cases := []struct {
		name string
		doc  string
		want []string // substrings of the API server's message
	}{
		{
			name: "the seed's upper-case catalog name",
			doc: `apiVersion: automation.dcn.ssu.ac.kr/v1alpha1
kind: ClusterCatalog
metadata: {name: Core5GCluster}
spec:
  infrastructure:
    provider: openstack-v1
    profile: {name: openstack-medium-cluster-v1, type: Infrastructure, revision: 1.0.0}`,
			want: []string{`metadata.name: Invalid value: "Core5GCluster"`, "lowercase RFC 1123"},
		},
		{
			name: "profile type outside the closed set",
			doc: `apiVersion: automation.dcn.ssu.ac.kr/v1alpha1
kind: InfrastructureProfile
metadata: {name: bad-type}
spec: {profileName: bad, type: Storage, revision: 1.0.0}`,
			want: []string{`spec.type: Unsupported value: "Storage"`, `"Infrastructure", "Network", "Software"`},
		},
		{
			name: "profile revision that is not a semantic version",
			doc: `apiVersion: automation.dcn.ssu.ac.kr/v1alpha1
kind: InfrastructureProfile
metadata: {name: bad-revision}
spec: {profileName: bad, type: Network, revision: latest}`,
			want: []string{`spec.revision: Invalid value: "latest"`},
		},
		{
			name: "parent of another type",
			doc: `apiVersion: automation.dcn.ssu.ac.kr/v1alpha1
kind: InfrastructureProfile
metadata: {name: bad-parent}
spec:
  profileName: calico
  type: Network
  revision: 1.0.0
  parent: {name: base, type: Infrastructure, revision: 1.0.0}`,
			want: []string{"spec: Invalid value", "the parent profile must have the same type as the profile"},
		},
		{
			name: "template with both path and url",
			doc: `apiVersion: automation.dcn.ssu.ac.kr/v1alpha1
kind: InfrastructureProfile
metadata: {name: bad-template}
spec:
  profileName: capo
  type: Infrastructure
  revision: 1.0.0
  template: {path: templates/capo.yaml, url: "https://example.invalid/releases", filename: t.yaml}`,
			want: []string{"spec.template: Invalid value", "a template names exactly one of path or url"},
		},
		{
			name: "network profile naming a template",
			doc: `apiVersion: automation.dcn.ssu.ac.kr/v1alpha1
kind: InfrastructureProfile
metadata: {name: bad-network-template}
spec:
  profileName: calico
  type: Network
  revision: 1.0.0
  template: {path: templates/calico.yaml}`,
			want: []string{"spec: Invalid value", "only an Infrastructure profile may name a cluster template"},
		},
		{
			name: "cluster without a recipe",
			doc: `apiVersion: automation.dcn.ssu.ac.kr/v1alpha1
kind: Cluster
metadata: {name: empty}
spec: {tenant: starlab}`,
			want: []string{"spec: Invalid value", "a cluster needs spec.clusterCatalog, spec.infrastructure or spec.existing"},
		},
		{
			name: "existing cluster with a catalog",
			doc: `apiVersion: automation.dcn.ssu.ac.kr/v1alpha1
kind: Cluster
metadata: {name: core}
spec: {clusterCatalog: small, existing: {}}`,
			want: []string{"spec: Invalid value", "an existing cluster (spec.existing) takes no catalog, infrastructure or override"},
		},
		{
			name: "existing cluster whose Secret is not CAPI's name",
			doc: `apiVersion: automation.dcn.ssu.ac.kr/v1alpha1
kind: Cluster
metadata: {name: core}
spec: {existing: {kubeconfigSecret: admin}}`,
			want: []string{"spec.existing.kubeconfigSecret must be <cluster name>-kubeconfig"},
		},
		{
			name: "existing member whose Secret is not CAPI's name",
			doc: `apiVersion: intent.automation.dcn.ssu.ac.kr/v1
kind: LogicalCluster
metadata: {name: lc}
spec:
  clusters:
    - {name: core, existing: {kubeconfigSecret: admin}}`,
			want: []string{"spec.clusters[0]: Invalid value", "existing.kubeconfigSecret must be <member name>-kubeconfig"},
		},
		{
			name: "network recipe referencing an Infrastructure profile",
			doc: `apiVersion: automation.dcn.ssu.ac.kr/v1alpha1
kind: Cluster
metadata: {name: wrong-network}
spec:
  clusterCatalog: small
  network:
    name: calico
    profile: {name: openstack-small-cluster, type: Infrastructure, revision: 1.0.0}`,
			want: []string{"spec.network: Invalid value", "a network recipe must reference a profile of type Network"},
		},
		{
			name: "override that is not a map",
			doc: `apiVersion: automation.dcn.ssu.ac.kr/v1alpha1
kind: Cluster
metadata: {name: scalar-override}
spec: {clusterCatalog: small, override: v1.25.0}`,
			want: []string{`spec.override: Invalid value: "string"`, "must be of type object"},
		},
		{
			name: "logical cluster with two members of one name",
			doc: `apiVersion: intent.automation.dcn.ssu.ac.kr/v1
kind: LogicalCluster
metadata: {name: dup}
spec:
  clusters:
    - {name: seoul-edge-cluster, clusterCatalog: small}
    - {name: seoul-edge-cluster, clusterCatalog: small}`,
			want: []string{`spec.clusters[1]: Duplicate value`},
		},
		{
			name: "rollout that allows no member to change",
			doc: `apiVersion: intent.automation.dcn.ssu.ac.kr/v1
kind: LogicalCluster
metadata: {name: stuck}
spec:
  clusters: [{name: a, clusterCatalog: small}]
  rollout: {maxUnavailable: 0}`,
			want: []string{"spec.rollout.maxUnavailable: Invalid value", "maxUnavailable is a count of at least 1"},
		},
		{
			name: "level 1 logical cloud without namespace",
			doc: `apiVersion: intent.automation.dcn.ssu.ac.kr/v1
kind: LogicalCluster
metadata: {name: level1}
spec:
  clusters: [{name: a, clusterCatalog: small}]
  logicalCloud: {level: "1"}`,
			want: []string{"spec.logicalCloud: Invalid value", "a level 1 logical cloud needs namespace and user"},
		},
		{
			name: "fleet source of an unknown kind",
			doc: `apiVersion: automation.dcn.ssu.ac.kr/v1alpha1
kind: Fleet
metadata: {name: bad-source}
spec:
  sourceRef: {kind: ConfigMap, name: repo}
  interval: 5m`,
			want: []string{`spec.sourceRef.kind: Unsupported value: "ConfigMap"`, `"GitRepository", "OCIRepository", "Bucket"`},
		},
		{
			name: "fleet path leaving the artifact",
			doc: `apiVersion: automation.dcn.ssu.ac.kr/v1alpha1
kind: Fleet
metadata: {name: escape}
spec:
  sourceRef: {kind: GitRepository, name: repo}
  path: ../other
  interval: 5m`,
			want: []string{"spec.path: Invalid value", "path must stay inside the artifact"},
		},
		{
			name: "fleet default EMCO endpoint that is not listed",
			doc: `apiVersion: automation.dcn.ssu.ac.kr/v1alpha1
kind: Fleet
metadata: {name: bad-emco}
spec:
  sourceRef: {kind: GitRepository, name: repo}
  interval: 5m
  emco:
    defaultEndpoint: emco-elsewhere
    endpoints: [{name: emco-mec-central-mgmt, url: "http://emco:9015"}]`,
			want: []string{"spec.emco: Invalid value", "defaultEndpoint must name one of spec.emco.endpoints"},
		},
		{
			name: "fleet interval that is not a duration",
			doc: `apiVersion: automation.dcn.ssu.ac.kr/v1alpha1
kind: Fleet
metadata: {name: bad-interval}
spec:
  sourceRef: {kind: GitRepository, name: repo}
  interval: five minutes`,
			want: []string{`spec.interval: Invalid value: "five minutes"`},
		},
	}

	ns := env.Namespace(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			docs := decodeAll(t, []byte(tc.doc))
			require.Len(t, docs, 1)
			obj := docs[0]
			obj.SetNamespace(ns)

			err := env.Client.Create(ctx, obj)
			require.Error(t, err, "the API server accepted an invalid document")
			assert.True(t, apierrors.IsInvalid(err), "want 422 Invalid, got %v", err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}

			got := &unstructured.Unstructured{}
			got.SetGroupVersionKind(obj.GroupVersionKind())
			err = env.Client.Get(ctx, client.ObjectKeyFromObject(obj), got)
			assert.True(t, apierrors.IsNotFound(err), "nothing is stored, got %v", err)
		})
	}
}

// An existing cluster takes network and software add-ons beside it (nothing else), as a
// Cluster and as a member; ExistingCluster and ExistingControlPlane, the infrastructure and
// control-plane objects that represent it in Cluster API, carry the contract label CAPI reads
// their version from.
func TestExistingClustersTakeAddons(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ns := env.Namespace(t)
	for _, doc := range []string{`apiVersion: automation.dcn.ssu.ac.kr/v1alpha1
kind: Cluster
metadata: {name: core}
spec:
  existing: {kubernetesVersion: v1.31.0}
  network: {name: calico, profile: {name: calico, type: Network, revision: 1.0.0}}
  software:
    - {name: metrics, profile: {name: metrics, type: Software, revision: 1.0.0}}`,
		`apiVersion: intent.automation.dcn.ssu.ac.kr/v1
kind: LogicalCluster
metadata: {name: lc}
spec:
  clusters:
    - name: core
      existing: {}
      network: {name: calico, profile: {name: calico, type: Network, revision: 1.0.0}}`} {
		docs := decodeAll(t, []byte(doc))
		require.Len(t, docs, 1)
		docs[0].SetNamespace(ns)
		require.NoError(t, env.Client.Create(ctx, docs[0]), "accepted: %s", docs[0].GetKind())
	}

	// CAPI's contract label (v1beta2 contract, served at v1alpha1) on the InfraCluster and the
	// control-plane kind, whose CRD names are CAPI's CalculateCRDName(group, kind).
	for _, name := range []string{"existingclusters.infrastructure.automation.dcn.ssu.ac.kr", "existingcontrolplanes.controlplane.automation.dcn.ssu.ac.kr"} {
		crd := &unstructured.Unstructured{}
		crd.SetAPIVersion("apiextensions.k8s.io/v1")
		crd.SetKind("CustomResourceDefinition")
		require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Name: name}, crd))
		assert.Equal(t, "v1alpha1", crd.GetLabels()["cluster.x-k8s.io/v1beta2"], name)
	}
}
