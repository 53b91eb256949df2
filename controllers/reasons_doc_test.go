package controllers

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every condition reason the controllers set is explained in docs/troubleshooting.md.
func TestEveryReasonIsInTheTroubleshootingGuide(t *testing.T) {
	guide, err := os.ReadFile("../docs/troubleshooting.md")
	require.NoError(t, err)
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	reason := regexp.MustCompile(`(?m)^\s*(Reason\w+|\w+Reason)\s*=\s*"(\w+)"`)
	found := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, m := range reason.FindAllStringSubmatch(string(data), -1) {
			found++
			assert.Contains(t, string(guide), "`"+m[2]+"`", "%s (%s) is not explained in docs/troubleshooting.md", m[1], f)
		}
	}
	assert.Greater(t, found, 20, "the pattern still finds the reasons")
}
