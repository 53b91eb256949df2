package emco_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/dcn-ssu/lkaas/internal/emco"
)

func TestLabelsFor(t *testing.T) {
	cases := []struct {
		name string
		in   map[string]string
		want []string
	}{
		{"prefix dropped, name-value joined", map[string]string{"automation.dcn.ssu.ac.kr/location": "kr-seoul"}, []string{"location-kr-seoul"}},
		{"no prefix", map[string]string{"zone": "a"}, []string{"zone-a"}},
		{"empty value keeps the name", map[string]string{"automation.dcn.ssu.ac.kr/edge": ""}, []string{"edge"}},
		{"sorted", map[string]string{"b": "2", "a": "1", "automation.dcn.ssu.ac.kr/managed-by": "emco-mec-central-mgmt"},
			[]string{"a-1", "b-2", "managed-by-emco-mec-central-mgmt"}},
		{"same name under two prefixes collapses", map[string]string{"x.io/tier": "edge", "y.io/tier": "edge"}, []string{"tier-edge"}},
		{"invalid characters become dashes and ends are trimmed", map[string]string{"weird key": "v@l!"}, []string{"weird-key-v-l"}},
		{"nothing usable is skipped", map[string]string{"x.io/": "", "---": ""}, []string{}},
		{"underscores and dots stay", map[string]string{"a.b/c_d": "1.2"}, []string{"c_d-1.2"}},
		{"nil", nil, []string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := emco.LabelsFor(tc.in)
			assert.Equal(t, tc.want, got)
			for _, l := range got {
				assert.True(t, emco.ValidLabel(l), l)
			}
		})
	}
}

func TestLabelsForCutsAtEMCOsLimit(t *testing.T) {
	got := emco.LabelsFor(map[string]string{strings.Repeat("k", 100): strings.Repeat("v", 100) + "-"})
	assert.Len(t, got[0], 128)
	assert.True(t, emco.ValidLabel(got[0]))
}

func TestLabelsForIsDeterministic(t *testing.T) {
	in := map[string]string{}
	for _, k := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		in["p.io/"+k] = k
	}
	first := emco.LabelsFor(in)
	for range 20 {
		assert.Equal(t, first, emco.LabelsFor(in))
	}
}
