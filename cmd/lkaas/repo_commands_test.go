package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcn-ssu/lkaas/internal/tenancy"
)

var update = flag.Bool("update", false, "rewrite the golden files")

const exampleRepo = "../../gitops-examples/fleet-repo"

// credentials stands in for the Fleet's variablesFrom Secret.
var credentials = []string{"--set", "OPENSTACK_CLOUD_YAML_B64=Y2xvdWRzOiB7fQo="}

// execute runs lkaas with args and returns its exit code, stdout and stderr.
func execute(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	root := newRootCommand()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err := root.Execute()
	code := 0
	if err != nil {
		code = exitFailure
		var usage usageError
		var exit exitCodeError
		switch {
		case errors.As(err, &exit):
			code = exit.code
		case errors.As(err, &usage):
			code = exitUsage
		}
		if !errors.As(err, &exit) {
			fmt.Fprintln(&errOut, "Error:", err) // as main prints it
		}
	}
	return code, out.String(), errOut.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, string(want), got)
}

func TestValidateTheExampleFleetRepository(t *testing.T) {
	code, out, errOut := execute(t, append([]string{"validate", exampleRepo}, credentials...)...)
	assert.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "valid: 5 cluster(s), 1 logical cluster(s)")
}

func TestValidateReportsEveryProblemWithItsPlace(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"clusters.yaml": `apiVersion: automation.dcn.ssu.ac.kr/v1alpha1
kind: Cluster
metadata:
  name: Seoul
spec:
  clusterCatalog: small
---
apiVersion: automation.dcn.ssu.ac.kr/v1alpha1
kind: Cluster
metadata:
  name: busan
spec:
  clusterCatalog: missing
`,
		"broken.yaml": "kind: [\n",
	})
	code, out, errOut := execute(t, "validate", dir)
	assert.Equal(t, exitFailure, code)
	assert.Empty(t, out)
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	require.Len(t, lines, 2, errOut)
	assert.Regexp(t, `^broken.yaml:\d+:\d+: `, lines[0])
	assert.Regexp(t, `^clusters.yaml:4:\d+: Cluster/Seoul: metadata.name: `, lines[1])
}

func TestUsageErrorsExitWith2(t *testing.T) {
	for _, args := range [][]string{
		{"validate"},
		{"validate", "a", "b"},
		{"validate", "/does/not/exist"},
		{"render", exampleRepo, "-o", "toml"},
		{"plan"},
		{"plan", "--base", "x", "-o", "html"},
	} {
		code, _, _ := execute(t, args...)
		assert.Equal(t, exitUsage, code, "%v", args)
	}
}

func TestRenderOneClusterMatchesGolden(t *testing.T) {
	code, out, errOut := execute(t, append([]string{"render", exampleRepo, "--cluster", "starlab/busan-edge-cluster"}, credentials...)...)
	require.Equal(t, 0, code, errOut)
	golden(t, "render-busan-edge-cluster.yaml", out)
	assert.Contains(t, out, "kind: KubeadmControlPlane")
	assert.Contains(t, out, "version: v1.25.0")
}

// The review flow: a pull request upgrades the edge clusters; plan against the base branch
// tells what will happen, as markdown for a comment.
// twoCommitRepo is the example repository in Git, then a change under review on top: the
// edge clusters to v1.26.0 and a new site.
func twoCommitRepo(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("the git CLI is needed to build the test repository")
	}
	dir := t.TempDir()
	require.NoError(t, os.CopyFS(dir, os.DirFS(exampleRepo)))
	git(t, dir, "init", "-q", "-b", "main")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "fleet")

	// The change under review: edge clusters to v1.26.0 through a member override, and a new site.
	lc := filepath.Join(dir, "tenants", "starlab", "mec-cluster.yaml")
	data, err := os.ReadFile(lc)
	require.NoError(t, err)
	changed := strings.ReplaceAll(string(data), "          wave: 1\n", "          wave: 1\n          override:\n            kubernetesVersion: v1.26.0\n")
	changed += `    - cluster:
        name: daegu-edge-cluster
        metadata:
          labels:
            automation.dcn.ssu.ac.kr/location: kr-daegu
        spec:
          clustercatalog: openstack-medium-catalog
          wave: 2
`
	require.NoError(t, os.WriteFile(lc, []byte(changed), 0o644))
	git(t, dir, "commit", "-q", "-am", "upgrade the edges")

	return dir
}

func TestPlanOnATwoCommitRepositoryMatchesGolden(t *testing.T) {
	dir := twoCommitRepo(t)
	code, out, errOut := execute(t, append([]string{"plan", dir, "--base", "HEAD~1", "--head", "HEAD", "-o", "markdown"}, credentials...)...)
	require.Equal(t, 0, code, errOut)
	golden(t, "plan-upgrade-edges.md", out)
	assert.Contains(t, out, "v1.25.0 → v1.26.0")
	assert.Contains(t, out, "wave 1: `seoul-edge-cluster`, `busan-edge-cluster`, `gwangju-edge-cluster`")
}

func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "commit.gpgsign=false"}, args...)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	}
}

// A member override that puts the workers ahead of the control plane is refused by validate,
// at the line of the override, naming the rule.
func TestValidateRefusesWorkersAheadOfTheControlPlane(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.CopyFS(dir, os.DirFS(exampleRepo)))
	lc := filepath.Join(dir, "tenants", "starlab", "mec-cluster.yaml")
	data, err := os.ReadFile(lc)
	require.NoError(t, err)
	changed := strings.Replace(string(data), "          clustercatalog: openstack-medium-catalog\n",
		"          clustercatalog: openstack-medium-catalog\n          override:\n            workerKubernetesVersion: v1.26.0\n", 1)
	require.NoError(t, os.WriteFile(lc, []byte(changed), 0o644))

	code, out, errOut := execute(t, append([]string{"validate", dir}, credentials...)...)
	assert.Equal(t, exitFailure, code)
	assert.Empty(t, out)
	assert.Equal(t, "tenants/starlab/mec-cluster.yaml:22:13: LogicalCluster/mec-cluster: spec.clusters[0].cluster.spec.override.workerKubernetesVersion: "+
		"workerKubernetesVersion v1.26.0 is newer than the control plane's v1.25.0: workers never run a newer Kubernetes than their control plane (rule workers-not-newer)\n", errOut)
}

// versionRulesRepo is the example repository, then a change that downgrades the centre,
// skips a minor on one edge and chains two minors on another through a listed version.
func versionRulesRepo(t *testing.T) string {
	t.Helper()
	dir := twoCommitRepo(t)
	git(t, dir, "reset", "-q", "--hard", "HEAD~1")
	lc := filepath.Join(dir, "tenants", "starlab", "mec-cluster.yaml")
	data, err := os.ReadFile(lc)
	require.NoError(t, err)
	overrides := []string{
		"            kubernetesVersion: v1.24.8\n",
		"            kubernetesVersion: v1.27.0\n",
		"            kubernetesVersion: v1.27.0\n            kubernetesVersions: [v1.26.1, v1.26.3]\n",
	}
	text := string(data)
	for i, o := range overrides {
		marker := "          clustercatalog: openstack-medium-catalog\n"
		at := nthIndex(text, marker, i) + len(marker)
		text = text[:at] + "          override:\n" + o + text[at:]
	}
	require.NoError(t, os.WriteFile(lc, []byte(text), 0o644))
	git(t, dir, "commit", "-q", "-am", "versions")
	return dir
}

func nthIndex(s, sub string, n int) int {
	at := -1
	for i := 0; i <= n; i++ {
		j := strings.Index(s[at+1:], sub)
		if j < 0 {
			return -1
		}
		at += 1 + j
	}
	return at
}

func TestPlanBlocksVersionRuleBreaksWithExit3(t *testing.T) {
	dir := versionRulesRepo(t)
	code, out, errOut := execute(t, append([]string{"plan", dir, "--base", "HEAD~1", "--head", "HEAD", "-o", "markdown"}, credentials...)...)
	assert.Equal(t, exitBlocked, code, errOut)
	golden(t, "plan-version-rules.md", out)
	assert.Contains(t, out, "BLOCKED by rule no-downgrade: tenants/starlab/mec-cluster.yaml:")
	assert.Contains(t, out, "BLOCKED by rule no-minor-skip: ")
	assert.Contains(t, out, "Kubernetes v1.25.0 → v1.27.0 in 2 steps: v1.26.3 → v1.27.0")

	code, out, _ = execute(t, append([]string{"plan", dir, "--base", "HEAD~1", "--head", "HEAD", "-o", "json"}, credentials...)...)
	assert.Equal(t, exitBlocked, code)
	assert.Contains(t, out, `"rule": "no-downgrade"`)
}

// A platform team checks a repository as its Fleet would: a provider kind outside the
// Cluster API groups is refused until --extra-allowed-kind adds it, as the Fleet's
// spec.extraAllowedKinds does; a cluster-scoped kind stays refused; a malformed kind is a
// usage error.
func TestExtraAllowedKindChecksARepositoryAsItsFleetWould(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.CopyFS(dir, os.DirFS(exampleRepo)))
	tpl := filepath.Join(dir, "templates", "openstack", "cluster-template.yaml")
	data, err := os.ReadFile(tpl)
	require.NoError(t, err)
	lines := strings.Count(string(data), "\n")
	data = append(data, []byte(`---
apiVersion: ipam.metal3.io/v1alpha1
kind: IPPool
metadata:
  name: ${CLUSTER_NAME}-pool
spec:
  clusterName: ${CLUSTER_NAME}
`)...)
	require.NoError(t, os.WriteFile(tpl, data, 0o644))
	poolLine := lines + 3 // the kind line of the document after the separator
	validate := func(extra ...string) (int, string, string) {
		return execute(t, append(append([]string{"validate", dir}, credentials...), extra...)...)
	}

	code, out, errOut := validate()
	assert.Equal(t, exitFailure, code)
	assert.Empty(t, out)
	refusal := fmt.Sprintf("templates/openstack/cluster-template.yaml:%d:1: IPPool/busan-edge-cluster-pool: kind: IPPool (ipam.metal3.io) is not a kind a cluster is made of: "+
		"allowed are the Cluster API groups (%s), the ConfigMaps and Secrets the template's ClusterResourceSets or identityRefs name, and the kinds the Fleet's spec.extraAllowedKinds adds",
		poolLine, strings.Join(tenancy.ClusterAPIGroups, ", "))
	assert.Contains(t, errOut, refusal)

	code, out, errOut = validate("--extra-allowed-kind", "IPPool.ipam.metal3.io")
	assert.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "valid: 5 cluster(s)")

	code, out, errOut = execute(t, append([]string{"render", dir, "--cluster", "starlab/busan-edge-cluster", "--extra-allowed-kind", "IPPool.ipam.metal3.io"}, credentials...)...)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "kind: IPPool\nmetadata:\n")
	code, _, errOut = execute(t, append([]string{"render", dir, "--cluster", "starlab/busan-edge-cluster"}, credentials...)...)
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, errOut, refusal)

	code, _, errOut = validate("--extra-allowed-kind", "ipam.metal3.io/IPPool")
	assert.Equal(t, exitUsage, code)
	assert.Equal(t, "Error: "+`--extra-allowed-kind: "ipam.metal3.io/IPPool" is not a kind: write Kind.group (for example IPPool.ipam.metal3.io), or Kind for the core group`+"\n", errOut)

	// A cluster-scoped kind stays refused however it is widened.
	data = append(data, []byte("---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: ${CLUSTER_NAME}-all\n")...)
	require.NoError(t, os.WriteFile(tpl, data, 0o644))
	code, _, errOut = validate("--extra-allowed-kind", "IPPool.ipam.metal3.io,ClusterRole.rbac.authorization.k8s.io")
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, errOut, fmt.Sprintf("templates/openstack/cluster-template.yaml:%d:1: ClusterRole/busan-edge-cluster-all: kind: ClusterRole (rbac.authorization.k8s.io) is cluster-scoped: "+
		"a fleet repository may create only namespaced objects in its cluster's namespace\n", poolLine+7))
	assert.NotContains(t, errOut, "IPPool")
}
