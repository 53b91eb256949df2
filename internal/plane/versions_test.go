package plane

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The CRDs tests install must come from the same releases as the API types the product
// compiles against, or tests would pass against schemas that production never sees.
func TestCRDModulesMatchTheAPIModulesInGoMod(t *testing.T) {
	cases := map[string]string{
		FluxSourceControllerModule + "/api": FluxSourceControllerVersion,
		ClusterAPIModule + "/api":           ClusterAPIVersion,
	}
	for module, want := range cases {
		out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", module).Output()
		require.NoError(t, err, module)
		assert.Equal(t, want, strings.TrimSpace(string(out)), module)
	}
}
