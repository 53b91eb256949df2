package main

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExitCodes(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want int
	}{
		{"help", []string{"--help"}, 0},
		{"version", []string{"version"}, 0},
		{"unknown flag is a usage error", []string{"version", "--bogus"}, exitUsage},
		{"unknown output is a usage error", []string{"version", "-o", "yaml"}, exitUsage},
		{"arguments where none are taken", []string{"version", "extra"}, exitUsage},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, run(tc.args))
		})
	}
}

func TestVersionJSON(t *testing.T) {
	root := newRootCommand()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetArgs([]string{"version", "-o", "json"})
	require.NoError(t, root.Execute())
	var info map[string]string
	require.NoError(t, json.Unmarshal(out.Bytes(), &info))
	assert.Equal(t, "dev", info["version"])
	assert.NotEmpty(t, info["goVersion"])
}

// Every subcommand shows examples in its help.
func TestSubcommandsHaveExamples(t *testing.T) {
	for _, cmd := range newRootCommand().Commands() {
		if cmd.Name() == "help" || cmd.Name() == "completion" {
			continue
		}
		assert.NotEmpty(t, cmd.Example, cmd.Name())
	}
}
