package render

import (
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSubstituteFollowsClusterctlForms(t *testing.T) {
	vars := map[string]string{"NAME": "edge", "EMPTY": "", "LIST": `["10.0.0.0/8"]`}
	cases := []struct{ in, want string }{
		{"name: ${NAME}", "name: edge"},
		{"name: ${UNSET:=fallback}", "name: fallback"},
		{"name: ${UNSET:-fallback}", "name: fallback"},
		{"name: ${NAME:=fallback}", "name: edge"},
		{"name: ${EMPTY:=fallback}", "name: fallback"},
		{"cidrBlocks: ${LIST}", `cidrBlocks: ["10.0.0.0/8"]`},
		{"nested: ${UNSET:=${NAME}}", "nested: edge"},
		{"literal: $$HOME and $NAME", "literal: $HOME and $NAME"},
		{"no variables at all", "no variables at all"},
	}
	for _, tc := range cases {
		got, err := Substitute(tc.in, vars)
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got, tc.in)
	}
}

func TestSubstituteListsEveryMissingVariable(t *testing.T) {
	_, err := Substitute("${B} ${A} ${B} ${C:=ok} ${D:-${E}} ${F:=x}", map[string]string{"F": "f"})
	require.EqualError(t, err, "template variables without a value or default: A, B, E")
	names, ok := isMissing(err)
	require.True(t, ok)
	assert.Equal(t, []string{"A", "B", "E"}, names)
}

func TestSubstituteRejectsBadSyntax(t *testing.T) {
	_, err := Substitute("name: ${NAME", nil)
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "template syntax: "), err.Error())
}

// FuzzSubstitute feeds arbitrary text and variables through parsing, the missing-variable
// check and substitution: nothing may panic, the result is deterministic, and a missing
// variable error lists sorted, unique names.
func FuzzSubstitute(f *testing.F) {
	for _, s := range []string{
		"name: ${CLUSTER_NAME}", "${A:=${B:-c}}", "$$", "${", "${}", "${#A}", "${A:1:2}", "${A/x/y}",
		"${A,,}", "${A^^}", "\\${A}", "${A:?err}", "${A:+alt}", "a: ${POD_CIDR:=[\"10.0.0.0/8\"]}\n---\nb: 1",
	} {
		f.Add(s, "A", "value")
	}
	f.Fuzz(func(t *testing.T, text, name, value string) {
		vars := map[string]string{name: value, "CLUSTER_NAME": "c"}
		out1, err1 := Substitute(text, vars)
		out2, err2 := Substitute(text, vars)
		if out1 != out2 || (err1 == nil) != (err2 == nil) {
			t.Fatalf("not deterministic for %q", text)
		}
		if names, ok := isMissing(err1); ok {
			if len(names) == 0 || !sort.StringsAreSorted(names) {
				t.Fatalf("missing names %v not sorted or empty", names)
			}
			for i := 1; i < len(names); i++ {
				if names[i] == names[i-1] {
					t.Fatalf("duplicate missing name %q", names[i])
				}
			}
		}
		// The variable mapping must survive any key a profile could hold.
		_ = upperSnake(text)
		_ = labelValue(text)
		if v := labelValue(text); len(v) > maxLabelValue {
			t.Fatalf("label value %q longer than %d", v, maxLabelValue)
		}
	})
}
