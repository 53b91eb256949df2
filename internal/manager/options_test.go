package manager

import (
	"testing"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/labels"
)

func TestWatchNamespace(t *testing.T) {
	cases := []struct {
		name    string
		args    []string
		env     string
		want    string
		wantErr bool
	}{
		{name: "all namespaces by default", want: ""},
		{name: "only the controller's own", args: []string{"--watch-all-namespaces=false"}, env: "lkaas-system", want: "lkaas-system"},
		{name: "own namespace unknown", args: []string{"--watch-all-namespaces=false"}, wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("RUNTIME_NAMESPACE", tc.env)
			var o Options
			fs := pflag.NewFlagSet("controller", pflag.ContinueOnError)
			o.BindFlags(fs)
			require.NoError(t, fs.Parse(tc.args))
			got, err := o.watchNamespace()
			if tc.wantErr {
				assert.ErrorContains(t, err, "RUNTIME_NAMESPACE")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}

	// Options built in code (tests, the demo) watch everything unless they name a namespace.
	got, err := (&Options{}).watchNamespace()
	require.NoError(t, err)
	assert.Empty(t, got)
}

func TestWatchLabelSelector(t *testing.T) {
	cases := []struct {
		name    string
		args    []string
		matches map[string]string
		misses  map[string]string
		wantErr string
	}{
		{name: "everything by default", matches: map[string]string{"sharding.fluxcd.io/key": "shard1"}},
		{name: "a shard", args: []string{"--watch-label-selector=sharding.fluxcd.io/key=shard1"},
			matches: map[string]string{"sharding.fluxcd.io/key": "shard1"}, misses: map[string]string{}},
		{name: "the main instance", args: []string{"--watch-label-selector=!sharding.fluxcd.io/key"},
			matches: map[string]string{}, misses: map[string]string{"sharding.fluxcd.io/key": "shard1"}},
		{name: "malformed", args: []string{"--watch-label-selector=sharding.fluxcd.io/key==="},
			wantErr: `invalid --watch-label-selector "sharding.fluxcd.io/key==="`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var o Options
			fs := pflag.NewFlagSet("controller", pflag.ContinueOnError)
			o.BindFlags(fs)
			require.NoError(t, fs.Parse(tc.args))
			sel, err := o.watchSelector()
			if tc.wantErr != "" {
				assert.ErrorContains(t, err, tc.wantErr)
				assert.ErrorContains(t, o.Validate(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.True(t, sel.Matches(labels.Set(tc.matches)))
			if tc.misses != nil {
				assert.False(t, sel.Matches(labels.Set(tc.misses)))
			}
		})
	}
}

// The status page is off unless asked for: it has no login of its own.
func TestWebAddrIsOffByDefault(t *testing.T) {
	var o Options
	fs := pflag.NewFlagSet("controller", pflag.ContinueOnError)
	o.BindFlags(fs)
	require.NoError(t, fs.Parse(nil))
	assert.Empty(t, o.WebAddr)
	require.NoError(t, fs.Parse([]string{"--web-addr=127.0.0.1:9090"}))
	assert.Equal(t, "127.0.0.1:9090", o.WebAddr)
}
