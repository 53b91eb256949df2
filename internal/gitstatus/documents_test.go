package gitstatus

import (
	"flag"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

const (
	revision    = "main@sha1:4f2c9a1e0b7d3c5a8e6f1b2d9c0a7e4f3b5d8c61"
	oldRevision = "main@sha1:1b8e2f7c4a9d0e3b6c5f8a1d2e7b4c9f0a3d6e58"
	emcoName    = "emco-mec-central-mgmt"
	catalog     = "openstack-medium-catalog"
)

var t0 = metav1.NewTime(time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC))

func cond(typ string, status metav1.ConditionStatus, reason, message string) metav1.Condition {
	return metav1.Condition{Type: typ, Status: status, Reason: reason, Message: message,
		LastTransitionTime: t0, ObservedGeneration: 3}
}

func fleetLabels(c map[string]string) map[string]string {
	l := map[string]string{
		automationv1alpha1.LabelPrefix + "fleet-name":      "starlab",
		automationv1alpha1.LabelPrefix + "fleet-namespace": "starlab",
	}
	maps.Copy(l, c)
	return l
}

func lkCluster(name, lc string, phase automationv1alpha1.ClusterPhase, cp, workers string, registered bool, conds ...metav1.Condition) automationv1alpha1.Cluster {
	labels := map[string]string{automationv1alpha1.ManagedByLabel: emcoName}
	if lc != "" {
		labels[automationv1alpha1.LogicalClusterLabel] = lc
	}
	return automationv1alpha1.Cluster{
		ObjectMeta: metav1.ObjectMeta{Namespace: "starlab", Name: name, Generation: 4, ResourceVersion: "81723",
			Labels:      fleetLabels(labels),
			Annotations: map[string]string{automationv1alpha1.SourceRevisionAnnotation: revision}},
		Spec: automationv1alpha1.ClusterSpec{Tenant: "starlab", ClusterCatalog: catalog},
		Status: automationv1alpha1.ClusterStatus{
			ObservedGeneration:   4,
			Conditions:           conds,
			Phase:                phase,
			SourceRevision:       revision,
			ControlPlaneVersion:  cp,
			WorkersVersion:       workers,
			KubeconfigSecretName: name + "-kubeconfig",
			RenderHash:           "sha256:9d1c0a",
			AppliedRenderHash:    "sha256:9d1c0a",
			Addons: []automationv1alpha1.AddonStatus{
				{Name: "kube-ovn", Kind: "HelmChartProxy", Object: "kube-ovn-1-12", Applied: true},
				{Name: "calico", Kind: "ClusterResourceSet", Object: "calico-3-26", Applied: true},
			},
			EMCO: &automationv1alpha1.EMCORegistration{Endpoint: emcoName, Project: "starlab", ClusterProvider: "starlab",
				Cluster: name, Registered: registered, KubeconfigDigest: "sha256:5e884898da28047151d0e56f8dc62927"},
		},
	}
}

// seed is the starlab Fleet of the seed: mec-cluster (a central cluster in wave 0 and three
// edge clusters in wave 1, the rollout to v1.26.0 in wave 1 with seoul in flight) and the
// standalone cluster-sample.
func seed() Snapshot {
	ready := func(msg string) metav1.Condition {
		return cond("Ready", metav1.ConditionTrue, "Available", msg)
	}
	waiting := cond("Ready", metav1.ConditionFalse, "WaitingForRollout", "waiting for wave 1 of mec-cluster")
	one := int32(1)
	return Snapshot{
		Fleet: &automationv1alpha1.Fleet{
			ObjectMeta: metav1.ObjectMeta{Namespace: "starlab", Name: "starlab", Generation: 2},
			Spec: automationv1alpha1.FleetSpec{
				SourceRef: automationv1alpha1.SourceReference{Kind: "GitRepository", Name: "starlab-fleet"},
				Path:      "./tenants/starlab",
				WriteBack: &automationv1alpha1.WriteBack{Branch: "lkaas/status", Path: "status/"},
			},
			Status: automationv1alpha1.FleetStatus{
				ObservedGeneration: 2,
				Conditions: []metav1.Condition{
					cond("Ready", metav1.ConditionTrue, "Succeeded", "Applied revision: "+revision),
					cond("Reconciling", metav1.ConditionFalse, "Succeeded", ""),
				},
				LastAppliedRevision:    revision,
				LastAttemptedRevision:  revision,
				LastHandledReconcileAt: "2025-03-14T09:20:00Z",
				Inventory: &automationv1alpha1.Inventory{Entries: []automationv1alpha1.InventoryEntry{
					{ID: "starlab_mec-cluster_intent.automation.dcn.ssu.ac.kr_LogicalCluster", Version: "v1", Hash: "a1b2c3"},
				}},
				Clusters:  map[string]int32{"Ready": 2, "Upgrading": 1, "Provisioned": 2, "Failed": 0, "Pending": 0},
				WriteBack: &automationv1alpha1.WriteBackStatus{LastPushedCommit: "0c1d2e3f", LastPushTime: &t0},
			},
		},
		Clusters: []automationv1alpha1.Cluster{
			lkCluster("central-cluster", "mec-cluster", automationv1alpha1.ClusterPhaseReady, "v1.26.0", "v1.26.0", true,
				ready("Cluster is available"), cond("Available", metav1.ConditionTrue, "Available", "")),
			lkCluster("seoul-edge-cluster", "mec-cluster", automationv1alpha1.ClusterPhaseUpgrading, "v1.26.0", "v1.25.0", true,
				cond("Ready", metav1.ConditionFalse, "Upgrading", "workers run v1.25.0, v1.26.0 asked"),
				cond("Reconciling", metav1.ConditionTrue, "Upgrading", "rolling out machine deployment seoul-edge-cluster-md-0")),
			lkCluster("busan-edge-cluster", "mec-cluster", automationv1alpha1.ClusterPhaseProvisioned, "v1.25.0", "", true, waiting),
			lkCluster("gwangju-edge-cluster", "mec-cluster", automationv1alpha1.ClusterPhaseProvisioned, "v1.25.0", "", true, waiting),
			lkCluster("cluster-sample", "", automationv1alpha1.ClusterPhaseReady, "v1.25.0", "", false, ready("Cluster is available")),
		},
		LogicalClusters: []intentv1.LogicalCluster{{
			ObjectMeta: metav1.ObjectMeta{Namespace: "starlab", Name: "mec-cluster", Generation: 5,
				Labels: fleetLabels(map[string]string{automationv1alpha1.ProjectLabel: "dcn"})},
			Spec: intentv1.LogicalClusterSpec{Tenant: "starlab", LogicalCloud: &intentv1.LogicalCloud{Level: "0"}},
			Status: intentv1.LogicalClusterStatus{
				ObservedGeneration: 5,
				Conditions: []metav1.Condition{
					cond("Reconciling", metav1.ConditionTrue, "RollingOut", "wave 1: seoul-edge-cluster in flight, 2 pending"),
					cond("Ready", metav1.ConditionFalse, "RollingOut", "rolling out wave 1"),
					cond("Registered", metav1.ConditionTrue, "Instantiated", "logical cloud mec-cluster references 4 clusters"),
				},
				Phase:          automationv1alpha1.ClusterPhaseUpgrading,
				SourceRevision: revision,
				Members: []intentv1.MemberStatus{
					{Name: "central-cluster", Phase: automationv1alpha1.ClusterPhaseReady, KubernetesVersion: "v1.26.0", Registered: true},
					{Name: "seoul-edge-cluster", Phase: automationv1alpha1.ClusterPhaseUpgrading, KubernetesVersion: "v1.26.0", Wave: 1, Registered: true},
					{Name: "busan-edge-cluster", Phase: automationv1alpha1.ClusterPhaseProvisioned, KubernetesVersion: "v1.25.0", Wave: 1, Registered: true, Pending: true},
					{Name: "gwangju-edge-cluster", Phase: automationv1alpha1.ClusterPhaseProvisioned, KubernetesVersion: "v1.25.0", Wave: 1, Registered: true, Pending: true},
				},
				ReadyMembers: 1,
				TotalMembers: 4,
				CurrentWave:  &one,
				LogicalCloud: "mec-cluster",
				EMCO: &intentv1.LogicalCloudRegistration{Endpoint: emcoName, Project: "starlab", LogicalCloud: "mec-cluster",
					Level: "0", DeployedStatus: "Instantiated", ReadyStatus: "Ready",
					Clusters: []string{"starlab+seoul-edge-cluster", "starlab+busan-edge-cluster", "starlab+central-cluster", "starlab+gwangju-edge-cluster"}},
			},
		}},
	}
}

// kaist is a second Fleet sharing the status directory, with a failing cluster whose
// message has a pipe and newlines.
func kaist() Snapshot {
	return Snapshot{
		Fleet: &automationv1alpha1.Fleet{
			ObjectMeta: metav1.ObjectMeta{Namespace: "kaist", Name: "kaist-fleet"},
			Status: automationv1alpha1.FleetStatus{
				Conditions: []metav1.Condition{cond("Ready", metav1.ConditionFalse, "ValidationFailed",
					"clusters.yaml:4:3: unknown catalog \"big|fast\"\nclusters.yaml:9:3: <nil> override")},
				LastAppliedRevision:   oldRevision,
				LastAttemptedRevision: revision,
				Clusters:              map[string]int32{"Failed": 1},
			},
		},
		Clusters: []automationv1alpha1.Cluster{{
			ObjectMeta: metav1.ObjectMeta{Namespace: "kaist", Name: "lab-cluster"},
			Status: automationv1alpha1.ClusterStatus{
				Phase:          automationv1alpha1.ClusterPhaseFailed,
				SourceRevision: oldRevision,
				Conditions: []metav1.Condition{cond("Ready", metav1.ConditionFalse, "RenderFailed",
					"template openstack | missing\nvariable OPENSTACK_CLOUD_YAML_B64")},
			},
		}},
	}
}

func documents(t *testing.T, s Snapshot) map[string][]byte {
	t.Helper()
	docs, err := Documents("status/", s)
	require.NoError(t, err)
	return docs
}

func golden(t *testing.T, dir string, got map[string][]byte) {
	t.Helper()
	root := filepath.Join("testdata", "golden", dir)
	if *update {
		require.NoError(t, os.RemoveAll(root))
		for p, b := range got {
			f := filepath.Join(root, filepath.FromSlash(p))
			require.NoError(t, os.MkdirAll(filepath.Dir(f), 0o755))
			require.NoError(t, os.WriteFile(f, b, 0o644))
		}
	}
	want := map[string][]byte{}
	require.NoError(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(root, p)
		want[filepath.ToSlash(rel)] = b
		return err
	}), "run go test ./internal/gitstatus/ -update to write the golden files")
	assert.Equal(t, slices.Sorted(maps.Keys(want)), slices.Sorted(maps.Keys(got)))
	for p, b := range got {
		assert.Equal(t, string(want[p]), string(b), p)
	}
}

func TestDocumentsGolden(t *testing.T) {
	docs := documents(t, seed())
	assert.Equal(t, []string{
		"status/starlab/cluster/busan-edge-cluster.yaml",
		"status/starlab/cluster/central-cluster.yaml",
		"status/starlab/cluster/cluster-sample.yaml",
		"status/starlab/cluster/gwangju-edge-cluster.yaml",
		"status/starlab/cluster/seoul-edge-cluster.yaml",
		"status/starlab/fleet/starlab.yaml",
		"status/starlab/logicalcluster/mec-cluster.yaml",
	}, slices.Sorted(maps.Keys(docs)))

	all := maps.Clone(docs)
	all["status/README.md"] = Summary("status/", docs)
	golden(t, "seed", all)
}

func TestDocumentsDir(t *testing.T) {
	for _, dir := range []string{"status", "status/", "/status", "/status//", "./status", ""} {
		docs, err := Documents(dir, seed())
		require.NoError(t, err, dir)
		assert.Contains(t, docs, "status/starlab/fleet/starlab.yaml", dir)
	}
	docs, err := Documents("ops/lkaas-status", seed())
	require.NoError(t, err)
	assert.Contains(t, docs, "ops/lkaas-status/starlab/logicalcluster/mec-cluster.yaml")

	for _, dir := range []string{"/", ".", "..", "status/../..", "../status", ".git/status"} {
		_, err := Documents(dir, seed())
		assert.Error(t, err, dir)
	}
	_, err = Documents("status/", Snapshot{})
	assert.Error(t, err, "no Fleet")

	twice := seed()
	twice.Clusters = append(twice.Clusters, twice.Clusters[0])
	_, err = Documents("status/", twice)
	assert.ErrorContains(t, err, "twice")

	unnamed := seed()
	unnamed.Clusters[0].Name = ""
	_, err = Documents("status/", unnamed)
	assert.Error(t, err)
}

func TestFleetOf(t *testing.T) {
	for p, b := range documents(t, seed()) {
		fleet, ok := FleetOf(b)
		assert.True(t, ok, p)
		assert.Equal(t, "starlab/starlab", fleet, p)
	}
	for p, b := range documents(t, kaist()) {
		fleet, ok := FleetOf(b)
		assert.True(t, ok, p)
		assert.Equal(t, "kaist/kaist-fleet", fleet, p)
	}

	doc := documents(t, seed())["status/starlab/cluster/central-cluster.yaml"]
	withoutHeader := strings.TrimPrefix(string(doc), Header+"\n")
	for name, b := range map[string]string{
		"random YAML":    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  a: b\n",
		"README":         string(Summary("status/", documents(t, seed()))),
		"empty":          "",
		"header only":    Header + "\n",
		"not YAML":       Header + "\n{{{ not: [yaml\n",
		"no header":      withoutHeader,
		"another kind":   strings.Replace(string(doc), "kind: Cluster", "kind: Secret", 1),
		"another group":  strings.Replace(string(doc), "automation.dcn.ssu.ac.kr/v1alpha1", "v1", 1),
		"no fleet":       strings.Replace(string(doc), "fleet: starlab/starlab\n", "", 1),
		"half a fleet":   strings.Replace(string(doc), "fleet: starlab/starlab", "fleet: starlab", 1),
		"header in text": "# notes\n" + string(doc),
	} {
		fleet, ok := FleetOf([]byte(b))
		assert.False(t, ok, name)
		assert.Empty(t, fleet, name)
	}
	crlf := strings.ReplaceAll(string(doc), "\n", "\r\n")
	fleet, ok := FleetOf([]byte(crlf))
	assert.True(t, ok, "CRLF line ends")
	assert.Equal(t, "starlab/starlab", fleet)
}

func TestRevision(t *testing.T) {
	assert.Equal(t, revision, Revision(seed()))
	s := seed()
	s.Fleet.Status.LastAppliedRevision = ""
	assert.Empty(t, Revision(s))
	assert.Empty(t, Revision(Snapshot{}))
}

func render(t *testing.T, s Snapshot) map[string][]byte {
	t.Helper()
	docs := documents(t, s)
	docs["status/README.md"] = Summary("status/", docs)
	return docs
}

func TestDocumentsDeterministic(t *testing.T) {
	want := render(t, seed())
	assert.Equal(t, want, render(t, seed()), "rendered twice")

	rng := rand.New(rand.NewPCG(7, 11))
	for i := range 10 {
		s := seed()
		rng.Shuffle(len(s.Clusters), func(i, j int) { s.Clusters[i], s.Clusters[j] = s.Clusters[j], s.Clusters[i] })
		for c := range s.Clusters {
			st := &s.Clusters[c].Status
			rng.Shuffle(len(st.Conditions), func(i, j int) { st.Conditions[i], st.Conditions[j] = st.Conditions[j], st.Conditions[i] })
			rng.Shuffle(len(st.Addons), func(i, j int) { st.Addons[i], st.Addons[j] = st.Addons[j], st.Addons[i] })
		}
		lc := &s.LogicalClusters[0].Status
		rng.Shuffle(len(lc.Conditions), func(i, j int) { lc.Conditions[i], lc.Conditions[j] = lc.Conditions[j], lc.Conditions[i] })
		rng.Shuffle(len(lc.EMCO.Clusters), func(i, j int) { lc.EMCO.Clusters[i], lc.EMCO.Clusters[j] = lc.EMCO.Clusters[j], lc.EMCO.Clusters[i] })
		fs := &s.Fleet.Status
		rng.Shuffle(len(fs.Conditions), func(i, j int) { fs.Conditions[i], fs.Conditions[j] = fs.Conditions[j], fs.Conditions[i] })
		assert.Equal(t, want, render(t, s), "shuffle %d", i)
	}
}

// Fields that change without a change of state, or that name a Secret, must not change a
// byte.
func TestDocumentsIgnoreNoise(t *testing.T) {
	want := render(t, seed())

	s := seed()
	later := metav1.NewTime(t0.Add(time.Hour))
	touch := func(cs []metav1.Condition) {
		for i := range cs {
			cs[i].LastTransitionTime = later
			cs[i].ObservedGeneration += 10
		}
	}
	f := s.Fleet
	f.APIVersion, f.Kind = automationv1alpha1.GroupVersion.String(), automationv1alpha1.FleetKind
	f.Generation, f.ResourceVersion, f.UID = 9, "99999", "6f1c"
	f.Annotations = map[string]string{"reconcile.fluxcd.io/requestedAt": "now"}
	f.Status.ObservedGeneration = 9
	f.Status.LastHandledReconcileAt = "2025-03-15T00:00:00Z"
	f.Status.Inventory.Entries = append(f.Status.Inventory.Entries, automationv1alpha1.InventoryEntry{ID: "starlab_x_automation.dcn.ssu.ac.kr_Cluster", Version: "v1alpha1"})
	f.Status.WriteBack = &automationv1alpha1.WriteBackStatus{LastPushedCommit: "ffffffff", LastPushTime: &later, LastError: "push rejected"}
	f.Status.Conditions = append(f.Status.Conditions, cond(WriterCondition, metav1.ConditionTrue, "Pushed", "pushed status commit ffffffff"))
	f.Spec.Interval = metav1.Duration{Duration: time.Minute}
	touch(f.Status.Conditions)
	for i := range s.Clusters {
		c := &s.Clusters[i]
		c.Generation, c.ResourceVersion = 8, "100000"
		c.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "lkaas", Time: &later}}
		c.Annotations[automationv1alpha1.RolloutPermitAnnotation] = "sha256:abc"
		c.Status.ObservedGeneration = 8
		c.Status.KubeconfigSecretName = c.Name + "-kubeconfig-rotated"
		c.Status.RenderHash, c.Status.AppliedRenderHash = "sha256:1111", "sha256:2222"
		c.Status.EMCO.KubeconfigDigest = "sha256:rotated"
		touch(c.Status.Conditions)
	}
	lc := &s.LogicalClusters[0]
	lc.Generation, lc.ResourceVersion = 6, "100001"
	lc.Status.ObservedGeneration = 6
	touch(lc.Status.Conditions)

	assert.Equal(t, want, render(t, s))
}

func TestDocumentsFollowState(t *testing.T) {
	want := render(t, seed())

	s := seed()
	s.Clusters[4].Status.Phase = automationv1alpha1.ClusterPhaseUpgrading // cluster-sample
	got := render(t, s)
	var changed []string
	for p := range want {
		if string(want[p]) != string(got[p]) {
			changed = append(changed, p)
		}
	}
	slices.Sort(changed)
	assert.Equal(t, []string{"status/README.md", "status/starlab/cluster/cluster-sample.yaml"}, changed)

	s = seed()
	s.LogicalClusters[0].Status.CurrentWave = new(int32) // wave 0 is a wave, not "none"
	got = render(t, s)
	assert.Contains(t, string(got["status/starlab/logicalcluster/mec-cluster.yaml"]), "currentWave: 0\n")
	assert.Contains(t, string(got["status/README.md"]), "- Wave in progress: 0\n")

	s = seed()
	s.LogicalClusters[0].Status.CurrentWave = nil
	got = render(t, s)
	assert.NotContains(t, string(got["status/starlab/logicalcluster/mec-cluster.yaml"]), "currentWave")
	assert.Contains(t, string(got["status/README.md"]), "- Wave in progress: none\n")
}

func TestSummaryTwoFleets(t *testing.T) {
	tree := documents(t, seed())
	maps.Copy(tree, documents(t, kaist()))
	// What else may be in the tree: the previous summary, notes of people, other directories.
	tree["status/README.md"] = []byte("# old summary\n")
	tree["status/notes.yaml"] = []byte("owner: platform-team\n")
	tree["status/starlab/cluster/hand-written.yaml"] = []byte("apiVersion: automation.dcn.ssu.ac.kr/v1alpha1\nkind: Cluster\nfleet: starlab/starlab\n")
	tree["elsewhere/starlab/cluster/other.yaml"] = documents(t, kaist())["status/kaist/cluster/lab-cluster.yaml"]

	readme := Summary("status", tree)
	golden(t, "two-fleets", map[string][]byte{"README.md": readme})

	s := string(readme)
	assert.Less(t, strings.Index(s, "## Fleet [kaist/kaist-fleet]"), strings.Index(s, "## Fleet [starlab/starlab]"), "sorted by namespace/name")
	assert.Contains(t, s, "[lab-cluster](kaist/cluster/lab-cluster.yaml)")
	assert.Contains(t, s, `template openstack \| missing variable OPENSTACK_CLOUD_YAML_B64`, "pipes escaped, newlines folded")
	assert.Contains(t, s, "&lt;nil> override")
	assert.NotContains(t, s, "hand-written")
	assert.NotContains(t, s, "other.yaml")
	for _, line := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		if strings.HasPrefix(line, "|") {
			cells := strings.Count(strings.ReplaceAll(line, `\|`, ""), "|")
			assert.Contains(t, []int{6, 7}, cells, "a table row has its columns: %s", line)
		}
	}
	// Members of mec-cluster are in its member table, not among the standalone clusters.
	standalone := s[strings.Index(s, "## Fleet [starlab/starlab]"):strings.Index(s, "### LogicalCluster")]
	assert.Contains(t, standalone, "cluster-sample")
	assert.NotContains(t, standalone, "seoul-edge-cluster")

	assert.Equal(t, readme, Summary("status/", tree), "same dir, other spelling")
	assert.Nil(t, Summary("status/", map[string][]byte{"status/README.md": []byte("# old\n")}))
	assert.Nil(t, Summary("status/", nil))
	assert.Nil(t, Summary("other/", tree))
}

// A member Cluster whose LogicalCluster has no document stays visible, in the standalone
// table; a labelled Cluster the LogicalCluster's status does not list yet is in its table.
func TestSummaryMembersWithoutStatus(t *testing.T) {
	s := seed()
	s.LogicalClusters[0].Status.Members = s.LogicalClusters[0].Status.Members[:3] // gwangju not listed yet
	readme := string(Summary("status/", documents(t, s)))
	assert.Contains(t, readme, "| [gwangju-edge-cluster](starlab/cluster/gwangju-edge-cluster.yaml) | — | Provisioned | v1.25.0 | yes | — |")

	s = seed()
	s.LogicalClusters = nil
	readme = string(Summary("status/", documents(t, s)))
	assert.Contains(t, readme, "| [seoul-edge-cluster](starlab/cluster/seoul-edge-cluster.yaml) | Upgrading | v1.26.0 (workers v1.25.0) | False (Upgrading): workers run v1.25.0, v1.26.0 asked | registered (emco-mec-central-mgmt) |")
	assert.NotContains(t, readme, "### LogicalCluster")
}

// Values that only Secrets, kubeconfigs or fields outside the whitelist hold never reach a
// document or the summary.
func TestNoSecretsInOutput(t *testing.T) {
	const (
		kubeconfig = "apiVersion: v1\nkind: Config\nusers:\n- name: admin\n  user:\n    client-key-data: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpTRUNSRVRLRVk=\n    token: eyJhbGciOiJSUzI1NiJ9.c2VjcmV0LXRva2VuLXZhbHVl.c2lnbmF0dXJl\n"
		token      = "ghp_SECRETtoken0123456789abcdefABCDEF"
		digest     = "sha256:SECRETDIGEST0123456789"
		secretName = "SECRET-kubeconfig-name"
	)
	s := seed()
	s.Fleet.Annotations = map[string]string{"kubectl.kubernetes.io/last-applied-configuration": kubeconfig, "token": token}
	s.Fleet.Spec.WriteBack.SecretRef = &automationv1alpha1.LocalObjectReference{Name: secretName}
	s.Fleet.Spec.VariablesFrom = []automationv1alpha1.VariablesReference{{Kind: "Secret", Name: secretName}}
	s.Fleet.Spec.EMCO = &automationv1alpha1.EMCOSettings{Endpoints: []automationv1alpha1.EMCOEndpoint{{Name: emcoName,
		URL: "https://" + token + "@emco.example", SecretRef: &automationv1alpha1.LocalObjectReference{Name: secretName}}}}
	s.Fleet.Status.WriteBack.LastError = "auth failed for " + token
	s.Fleet.Status.Inventory.Entries[0].ID = "starlab_" + secretName + "__Secret"
	for i := range s.Clusters {
		c := &s.Clusters[i]
		c.Annotations["kubeconfig"] = kubeconfig
		c.Labels["token"] = token
		c.Status.KubeconfigSecretName = secretName
		c.Status.EMCO.KubeconfigDigest = digest
		c.Status.RenderHash = digest
	}
	lc := &s.LogicalClusters[0]
	lc.Annotations = map[string]string{"kubeconfig": kubeconfig}
	lc.Spec.LogicalCloud.User = token

	// A credential quoted in free text (a condition or add-on message) is redacted.
	s.Clusters[0].Status.Conditions = append(s.Clusters[0].Status.Conditions,
		cond("Registered", metav1.ConditionFalse, "RegistrationFailed", "clm said: invalid kubeconfig\n"+kubeconfig),
		cond("AddonsApplied", metav1.ConditionFalse, "Failed", "Authorization: Bearer "+token))
	s.Clusters[1].Status.Addons[0].Message = "values: {password: " + token + "}\n-----BEGIN CERTIFICATE-----\nMIIBSECRETCERT\n-----END CERTIFICATE-----"

	out := render(t, s)
	for p, b := range out {
		for _, secret := range []string{token, digest, secretName, "LS0tLS1CRUdJTiBSU0Eg", "eyJhbGciOiJSUzI1NiJ9", "MIIBSECRETCERT",
			"kubeconfigSecretName", "kubeconfigDigest", "inventory", "writeBack", "lastHandledReconcileAt", "renderHash",
			"lastTransitionTime", "observedGeneration", "annotations", "labels"} {
			assert.NotContains(t, string(b), secret, p)
		}
	}
	assert.Contains(t, string(out["status/starlab/cluster/central-cluster.yaml"]), "Bearer [redacted]")
	assert.Contains(t, string(out["status/starlab/cluster/central-cluster.yaml"]), "token: [redacted]")
	assert.Contains(t, string(out["status/starlab/cluster/seoul-edge-cluster.yaml"]), "password: [redacted]")
}

// armor builds a PEM-shaped block at run time, so no key-looking text sits in the repository.
func armor(kind, body string) string {
	const dashes = "-----"
	return dashes + "BEGIN " + kind + dashes + "\n" + body + "\n" + dashes + "END " + kind + dashes
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"":                     "",
		"cluster is available": "cluster is available",
		"token expired":        "token expired",
		"secret openstack-credentials: not found":     "secret openstack-credentials: not found",
		`{"token":"abc123def"}`:                       `{"token":"[redacted]"}`,
		"password=hunter22 user=x":                    "password=[redacted] user=x",
		"Authorization: bearer abc.def":               "Authorization: bearer [redacted]",
		"a " + armor("RSA PRIVATE KEY", "xyz") + " b": "a [redacted] b",
		"cut -----BEGIN CERTIFICATE-----\nMIIB":       "cut [redacted]",
	} {
		assert.Equal(t, want, redact(in), in)
	}
}

// Scalars made directly must print as yaml.v3 prints them when it encodes the value itself:
// quoted when they would read back as another type, block style for several lines.
func TestScalarNodeMatchesEncode(t *testing.T) {
	values := []any{true, false, nil, "", "True", "false", "yes", "on", "null", "~", "1.25", "0x1F", "1e3",
		"v1.26.0", "2025-03-14", " leading", "trailing ", "a: b", "- x", "#c", "x #c", "*alias", "&a", "!tag",
		"%", "@", "`", "'q'", `"dq"`, "é unicode", "tab\there", "[x]", "{x}", "multi\nline", "tail\n", "a|b\nc: d\n",
		"1:20", "190:20:30", "N", "Off", "\xff\xfe", "<nil>", "=", "?", "-", ".", ".inf", "-.5", "+1", "0o17", "012"}
	for _, v := range values {
		want := &yaml.Node{}
		require.NoError(t, want.Encode(v))
		got, err := scalarNode(v)
		require.NoError(t, err)
		wantOut, err := yaml.Marshal(&yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{want, want}})
		require.NoError(t, err)
		gotOut, err := yaml.Marshal(&yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{got, got}})
		require.NoError(t, err)
		assert.Equal(t, string(wantOut), string(gotOut), "%q", v)
	}
}

// An existing cluster is marked in its own document, in its logical cluster's member list and
// in the README's tree; a built one carries no mark.
func TestDocumentsMarkExistingClusters(t *testing.T) {
	s := seed()
	for i := range s.Clusters {
		if s.Clusters[i].Name == "central-cluster" {
			s.Clusters[i].Spec = automationv1alpha1.ClusterSpec{Existing: &automationv1alpha1.ExistingCluster{}}
		}
	}
	s.LogicalClusters[0].Spec.Clusters = []intentv1.MemberCluster{
		{Name: "central-cluster", Existing: &automationv1alpha1.ExistingCluster{}},
		{Name: "seoul-edge-cluster", ClusterCatalog: "in-memory-catalog"},
	}
	docs := documents(t, s)
	assert.Contains(t, string(docs["status/starlab/cluster/central-cluster.yaml"]), "\n  existing: true\n")
	assert.NotContains(t, string(docs["status/starlab/cluster/seoul-edge-cluster.yaml"]), "existing")
	lc := string(docs["status/starlab/logicalcluster/mec-cluster.yaml"])
	assert.Contains(t, lc, "    - name: central-cluster\n      existing: true\n")
	assert.Equal(t, 1, strings.Count(lc, "existing"))
	readme := string(Summary("status/", docs))
	assert.Contains(t, readme, "| [central-cluster](starlab/cluster/central-cluster.yaml) (existing) |")
	assert.Equal(t, 1, strings.Count(readme, "(existing)"))
}
