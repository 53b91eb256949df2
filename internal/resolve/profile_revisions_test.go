package resolve

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
)

// Which revision a reference picks, and from which namespace.
func TestProfileRevisionPicked(t *testing.T) {
	template := templatePath("templates/openstack.yaml")
	rev := func(ns, revision string) any {
		return profile(ns, "a", infraType, revision, template, values(vals(t, `{kubernetesVersion: v1.30.1, picked: "`+ns+"/"+revision+`"}`)))
	}
	shared := []any{rev("default", "1.0.0"), rev("default", "1.2.0"), rev("default", "1.2.7"), rev("default", "1.10.0"), rev("default", "2.0.0"), rev("default", "2.1.0-rc.1")}

	tests := []struct {
		name     string
		own      []any
		revision string
		refNS    string
		opts     Options
		want     string
	}{
		{name: "exact", revision: "1.2.0", want: "default/1.2.0"},
		{name: "exact with a v", revision: "v1.2.0", want: "default/1.2.0"},
		{name: "range takes the highest match", revision: ">=1.0.0 <2.0.0", want: "default/1.10.0"},
		{name: "comma means and", revision: ">=1.0.0, <1.5.0", want: "default/1.2.7"},
		{name: "tilde", revision: "~1.2", want: "default/1.2.7"},
		{name: "caret", revision: "^1", want: "default/1.10.0"},
		{name: "short version is a range", revision: "2", want: "default/2.0.0"},
		{name: "pre-release only when asked", revision: ">=2.1.0-rc.0", want: "default/2.1.0-rc.1"},
		{name: "own namespace first", own: []any{rev("starlab", "1.0.0")}, revision: "1.0.0", want: "starlab/1.0.0"},
		{name: "own namespace shadows a higher shared match", own: []any{rev("starlab", "1.1.0")}, revision: "^1", want: "starlab/1.1.0"},
		{name: "falls through to shared when own has no match", own: []any{rev("starlab", "3.0.0")}, revision: "^1", want: "default/1.10.0"},
		{name: "explicit shared namespace skips own", own: []any{rev("starlab", "1.2.0")}, revision: "1.2.0", refNS: "default", want: "default/1.2.0"},
		{
			name: "shared namespaces in order", revision: "1.0.0", want: "platform/1.0.0",
			own: []any{rev("platform", "1.0.0")}, opts: Options{SharedProfileNamespaces: []string{"platform", "default"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := automationv1alpha1.ProfileReference{Name: "a", Type: infraType, Revision: tt.revision, Namespace: tt.refNS}
			docs := append(append(append([]any{}, shared...), tt.own...), cluster("starlab", "c1", withRecipe(infra("openstack", r))))
			plans := mustResolve(t, set(docs...), tt.opts)
			require.Len(t, plans, 1)
			assert.Equal(t, tt.want, plans[0].Infrastructure.Values["picked"])
			assert.Equal(t, plans[0].Infrastructure.Key, plans[0].Infrastructure.Chain[0])
		})
	}
}

// A parent reference is looked up from the child's namespace, and may use a range too.
func TestParentRevisionRange(t *testing.T) {
	s := set(
		profile("default", "base", infraType, "1.0.0", templatePath("old.yaml")),
		profile("default", "base", infraType, "1.4.0", templatePath("new.yaml"), values(vals(t, `{kubernetesVersion: v1.30.1}`))),
		profile("starlab", "mine", infraType, "1.0.0", parent(ref("base", infraType, "~1"))),
		cluster("starlab", "c1", withRecipe(infra("openstack", ref("mine", infraType, "1.0.0")))),
	)
	plans := mustResolve(t, s, Options{})
	require.Len(t, plans, 1)
	assert.Equal(t, []ProfileKey{
		{Namespace: "starlab", Name: "mine", Type: infraType, Revision: "1.0.0"},
		{Namespace: "default", Name: "base", Type: infraType, Revision: "1.4.0"},
	}, plans[0].Infrastructure.Chain)
	assert.Equal(t, "new.yaml", plans[0].Infrastructure.Template.Path)
}

// Two revisions that are one version are one too many.
func TestDuplicateRevision(t *testing.T) {
	s := set(
		profile("default", "a", infraType, "1.0.0"),
		profile("default", "a", infraType, "v1.0.0"),
	)
	assert.Equal(t, []string{
		`a-infrastructure-v1.0.0.yaml:1:1: InfrastructureProfile/a-infrastructure-v1.0.0: spec.revision: Infrastructure profile "a" revision v1.0.0 is already defined by InfrastructureProfile/a-infrastructure-1.0.0 at a-infrastructure-1.0.0.yaml:1:1`,
	}, errorLines(t, s, Options{}))
}
