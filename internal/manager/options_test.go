package manager

import (
	"testing"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
