package main

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

// The pull-request workflow in gitops-examples/ci runs lkaas validate and lkaas plan; this
// runs its very commands on a two-commit repository (the base ref standing for HEAD~1) and
// compares the comment it would post with the plan golden file.
func TestPullRequestWorkflowPlansAsTheGolden(t *testing.T) {
	data, err := os.ReadFile("../../gitops-examples/ci/pull-request.yaml")
	require.NoError(t, err)
	var wf struct {
		Jobs map[string]struct {
			Steps []struct {
				Name string `json:"name"`
				Run  string `json:"run"`
			} `json:"steps"`
		} `json:"jobs"`
	}
	require.NoError(t, yaml.Unmarshal(data, &wf))
	commands := map[string][]string{}
	for _, step := range wf.Jobs["plan"].Steps {
		if step.Name == "Validate" || step.Name == "Plan" {
			commands[step.Name] = lkaasArgs(t, step.Run)
		}
	}
	require.Len(t, commands, 2, "the workflow has a Validate and a Plan step")

	want, err := os.ReadFile("testdata/plan-upgrade-edges.md")
	require.NoError(t, err)
	t.Chdir(twoCommitRepo(t))
	code, _, errOut := execute(t, commands["Validate"]...)
	require.Equal(t, 0, code, errOut)
	code, out, errOut := execute(t, commands["Plan"]...)
	require.Equal(t, 0, code, errOut)
	require.Equal(t, string(want), out, "the comment the workflow posts")
}

// lkaasArgs reads the lkaas command of a step's script: continuation lines joined, the
// output redirection dropped, quotes removed and the pull request's base ref replaced by the
// commit before HEAD.
func lkaasArgs(t *testing.T, script string) []string {
	t.Helper()
	script = strings.ReplaceAll(script, "\\\n", " ")
	script, _, _ = strings.Cut(script, ">")
	script = strings.ReplaceAll(script, `"origin/${{ github.base_ref }}"`, "HEAD~1")
	fields := strings.Fields(script)
	require.NotEmpty(t, fields)
	require.Equal(t, "lkaas", fields[0], "the step runs lkaas: %q", script)
	return fields[1:]
}
