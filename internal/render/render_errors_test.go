package render

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/internal/loader"
	"github.com/dcn-ssu/lkaas/internal/resolve"
)

// fakeFetcher serves fixed bytes for any URL and counts calls.
type fakeFetcher struct {
	body  []byte
	calls int
}

func (f *fakeFetcher) Fetch(_ context.Context, _, _ string) ([]byte, error) {
	f.calls++
	return f.body, nil
}

const tinyTemplate = `apiVersion: cluster.x-k8s.io/v1beta2
kind: Cluster
metadata:
  name: ${CLUSTER_NAME}
spec:
  topology:
    version: ${KUBERNETES_VERSION}
`

const infraPrefix = "<input>: Cluster/cluster-sample: infrastructure profile default/openstack-small-cluster 1.0.0: "

func TestRenderErrorsNameWhatToChange(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "templates"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "templates", "tiny.yaml"), []byte(tinyTemplate), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(root, filepath.Dir(calicoManifestPath)), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, calicoManifestPath), []byte("kind: List\n"), 0o644))
	fixed := strings.Replace(tinyTemplate, "${CLUSTER_NAME}", "fixed", 1)
	require.NoError(t, os.WriteFile(filepath.Join(root, "templates", "fixed.yaml"), []byte(fixed), 0o644))
	outside := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(outside, "secret.yaml"), []byte(tinyTemplate), 0o644))
	require.NoError(t, os.Symlink(filepath.Join(outside, "secret.yaml"), filepath.Join(root, "templates", "link.yaml")))

	withTemplate := func(src automationv1alpha1.TemplateSource) func(*resolve.Plan) {
		return func(p *resolve.Plan) { p.Infrastructure.Template = &src }
	}
	releases := automationv1alpha1.TemplateSource{
		URL:      "https://github.com/kubernetes-sigs/cluster-api-provider-openstack/releases",
		Version:  "v0.7.0",
		Filename: "cluster-template.yaml",
	}
	pinnedURL := releases
	pinnedURL.Digest = "sha256:" + strings.Repeat("0", 64)
	releaseURL := "https://github.com/kubernetes-sigs/cluster-api-provider-openstack/releases/download/v0.7.0/cluster-template.yaml"

	cases := []struct {
		name   string
		root   string
		fleet  map[string]string
		fetch  TemplateFetcher
		modify func(*resolve.Plan)
		want   string
	}{{
		name: "missing template variables are listed together, sorted",
		root: repoRoot(t),
		want: infraPrefix + "template gitops-examples/fleet-repo/templates/openstack/cluster-template.yaml: template variables without a value or default: " +
			"OPENSTACK_CLOUD_YAML_B64, OPENSTACK_EXTERNAL_NETWORK_ID, OPENSTACK_IMAGE_NAME, OPENSTACK_SSH_KEY_NAME " +
			"(set them in the profile values or the Fleet's variablesFrom)",
	}, {
		name:   "template path leaving the repository",
		modify: withTemplate(automationv1alpha1.TemplateSource{Path: "../outside/cluster-template.yaml"}),
		want:   infraPrefix + `template path "../outside/cluster-template.yaml" leaves the repository; it must stay inside the repository root`,
	}, {
		name:   "template path leaving the repository after cleaning",
		modify: withTemplate(automationv1alpha1.TemplateSource{Path: "templates/../../x.yaml"}),
		want:   infraPrefix + `template path "templates/../../x.yaml" leaves the repository; it must stay inside the repository root`,
	}, {
		name:   "absolute template path",
		modify: withTemplate(automationv1alpha1.TemplateSource{Path: "/etc/passwd"}),
		want:   infraPrefix + `template path "/etc/passwd" is absolute; give a path relative to the repository root`,
	}, {
		name:   "template path through a symbolic link out of the repository",
		modify: withTemplate(automationv1alpha1.TemplateSource{Path: "templates/link.yaml"}),
		want:   infraPrefix + `template path "templates/link.yaml" leads outside the repository through a symbolic link`,
	}, {
		name:   "template path that does not exist",
		modify: withTemplate(automationv1alpha1.TemplateSource{Path: "templates/nope.yaml"}),
		want:   infraPrefix + `template path "templates/nope.yaml" does not exist in the repository`,
	}, {
		name:   "url template without a fetcher",
		modify: withTemplate(releases),
		want: infraPrefix + "template " + releaseURL +
			" is a url template and templates are not fetched here: allow fetching, or use a template path inside the repository",
	}, {
		name:   "url template whose content does not match its digest",
		fetch:  &fakeFetcher{body: []byte(tinyTemplate)},
		modify: withTemplate(pinnedURL),
		want: infraPrefix + "template " + releaseURL + ": digest mismatch: the profile pins " + pinnedURL.Digest +
			", the content is " + contentDigest([]byte(tinyTemplate)),
	}, {
		name:   "path template whose content does not match its digest",
		modify: withTemplate(automationv1alpha1.TemplateSource{Path: "templates/tiny.yaml", Digest: pinnedURL.Digest}),
		want: infraPrefix + "template templates/tiny.yaml: digest mismatch: the profile pins " + pinnedURL.Digest +
			", the content is " + contentDigest([]byte(tinyTemplate)),
	}, {
		name:   "template whose Cluster is not named after the cluster",
		modify: withTemplate(automationv1alpha1.TemplateSource{Path: "templates/fixed.yaml"}),
		want:   infraPrefix + `template templates/fixed.yaml names its Cluster "fixed"; name it ${CLUSTER_NAME}`,
	}, {
		name: "profile with neither template nor ClusterClass",
		modify: func(p *resolve.Plan) {
			p.Infrastructure.Template = nil
		},
		want: infraPrefix + "the profile names neither a template nor a ClusterClass",
	}, {
		name:  "network manifest outside the repository",
		root:  repoRoot(t),
		fleet: openstackFleetVariables(),
		modify: func(p *resolve.Plan) {
			p.Network.Profile.Values["manifests"] = []any{"../../etc/calico.yaml"}
		},
		want: `<input>: Cluster/cluster-sample: network add-on "calico-v1" (profile default/calico-v1 1.0.0): ` +
			`manifest path "../../etc/calico.yaml" leaves the repository; it must stay inside the repository root`,
	}, {
		name:  "software chart without a repository",
		root:  repoRoot(t),
		fleet: openstackFleetVariables(),
		modify: func(p *resolve.Plan) {
			p.Software[0].Profile.Values["chart"] = map[string]any{"name": "prometheus"}
		},
		want: `<input>: Cluster/cluster-sample: software add-on "prometheus" (profile default/prometheus-default 1.0.0): chart needs repoURL and name`,
	}, {
		name: "topology cluster without a Kubernetes version",
		modify: func(p *resolve.Plan) {
			p.Infrastructure.Template = nil
			p.Infrastructure.ClusterClass = &automationv1alpha1.ClusterClassReference{Name: "in-memory"}
			p.KubernetesVersion = ""
		},
		want: infraPrefix + "a ClusterClass cluster needs kubernetesVersion",
	}, {
		name: "a logical-cluster member is placed at its member entry",
		modify: func(p *resolve.Plan) {
			p.LogicalCluster, p.OriginField = "mec-cluster", "spec.clusters[2]"
			p.Origin = loader.Origin{Pos: loader.Position{File: "fleet/mec.yaml", Line: 1, Column: 1},
				Fields: map[string]loader.Position{"spec.clusters[2]": {File: "fleet/mec.yaml", Line: 17, Column: 7}}}
			p.Infrastructure.Template = &automationv1alpha1.TemplateSource{Path: "/abs.yaml"}
		},
		want: "fleet/mec.yaml:17:7: LogicalCluster/mec-cluster: spec.clusters[2]: cluster cluster-sample: " +
			`infrastructure profile default/openstack-small-cluster 1.0.0: template path "/abs.yaml" is absolute; give a path relative to the repository root`,
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			plan := seedClusterSamplePlan()
			if tc.modify != nil {
				tc.modify(plan)
			}
			r := tc.root
			if r == "" {
				r = root
			}
			_, err := Render(plan, Options{Root: r, Variables: tc.fleet, Fetcher: tc.fetch})
			require.Error(t, err)
			assert.Equal(t, tc.want, err.Error())
			var rerr *Error
			assert.ErrorAs(t, err, &rerr, "render errors carry their place")
		})
	}
}

func TestMissingVariablesAreReachableAsAList(t *testing.T) {
	_, err := Render(seedClusterSamplePlan(), Options{Root: repoRoot(t), Variables: map[string]string{"OPENSTACK_CLOUD_YAML_B64": "e30K"}})
	names, ok := isMissing(err)
	require.True(t, ok)
	assert.Equal(t, []string{"OPENSTACK_EXTERNAL_NETWORK_ID", "OPENSTACK_IMAGE_NAME", "OPENSTACK_SSH_KEY_NAME"}, names)
}

func TestURLTemplateIsFetchedOnceAndParsedOnce(t *testing.T) {
	f := &fakeFetcher{body: []byte(tinyTemplate)}
	r := NewRenderer(Options{Fetcher: f})
	for i := 0; i < 3; i++ {
		plan := seedClusterSamplePlan()
		plan.Network, plan.Software = nil, nil
		plan.Infrastructure.Template = &automationv1alpha1.TemplateSource{
			URL: "https://example.com/releases", Version: "v1.0.0", Filename: "cluster-template.yaml",
			Digest: contentDigest([]byte(tinyTemplate)),
		}
		res, err := r.Render(plan)
		require.NoError(t, err)
		require.Len(t, res.Objects, 1)
	}
	assert.Equal(t, 1, f.calls)
}
