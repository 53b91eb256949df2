package render

import (
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// trickyTemplate puts variables where text substitution could change a document's structure
// or a scalar's type, so that the fast path must either match the slow one or step aside.
const trickyTemplate = `apiVersion: v1
kind: ConfigMap
metadata:
  name: ${NAME}
  labels: {app: "${NAME}", tier: '${TIER:=web}'}
data:
  count: ${COUNT}
  padded: ${COUNT}0
  word: ${WORD}
  joined: ${NAME}-${WORD}.example
  quoted: "${WORD}"
  list: ${LIST:=["a", "b"]}
  flow: [${WORD}, x]
  script: |
    echo ${NAME} ${COUNT}
  lowered: ${WORD,,}
---
apiVersion: v1
kind: Secret
metadata:
  name: ${NAME}-anchored
data:
  a: &shared ${WORD}
  b: *shared
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: ${NAME}-keyed
data:
  ${WORD}: value
`

// The fast path decodes every document exactly as substituting text and parsing it does,
// over the example templates and one written to trip it, for values of every shape.
func TestSkeletonDecodesAsTextSubstitution(t *testing.T) {
	sources := map[string]string{"tricky": trickyTemplate}
	for _, p := range []string{
		"../../gitops-examples/fleet-repo/templates/docker-inmemory/cluster-template.yaml",
		"../../gitops-examples/fleet-repo/templates/openstack/cluster-template.yaml",
	} {
		raw, err := os.ReadFile(p)
		require.NoError(t, err)
		sources[p] = string(raw)
	}
	// Values that keep a document's structure, values that change a scalar's type, and
	// values that would change the structure if put into a parsed document.
	shapes := []string{"web", "lc-3-site-42", "v1.34.2", "3", "0", "012", "-1", "+5", "1.5", "1e3", ".inf",
		"yes", "No", "ON", "null", "~", "true", "-", "a b", "a: b", "#x", "[1, 2]", "{k: v}", "'q'", `"q"`,
		"line\nbreak", "x,y", "Zm9vYmFy+/==", "LKAASSLOT0000X", "a/b_c.d"}
	names := []string{"NAME", "TIER", "COUNT", "WORD", "LIST", "CLUSTER_NAME", "KUBERNETES_VERSION",
		"CONTROL_PLANE_MACHINE_COUNT", "WORKER_MACHINE_COUNT", "POD_CIDR", "SERVICE_CIDR",
		"OPENSTACK_CLOUD_YAML_B64", "OPENSTACK_CONTROL_PLANE_MACHINE_FLAVOR", "OPENSTACK_NODE_MACHINE_FLAVOR",
		"OPENSTACK_IMAGE_NAME", "OPENSTACK_SSH_KEY_NAME", "OPENSTACK_EXTERNAL_NETWORK_ID", "OPENSTACK_CLOUD",
		"IN_MEMORY_STARTUP_JITTER"}
	rng := rand.New(rand.NewPCG(19, 1000))
	fast := 0
	for name, src := range sources {
		tmpl, err := parseClusterTemplate(name, []byte(src))
		require.NoError(t, err)
		for round := 0; round < 400; round++ {
			vars := map[string]string{}
			for _, n := range names {
				switch r := rng.IntN(10); {
				case r < 6:
					vars[n] = fmt.Sprintf("safe-%d", rng.IntN(4)) // the common case: a fast path
				case r < 7:
					// unset: defaults apply
				default:
					vars[n] = shapes[rng.IntN(len(shapes))]
				}
			}
			for i, d := range tmpl.docs {
				text, slowErr := d.execute(vars)
				var want map[string]any
				if slowErr == nil {
					want, slowErr = decodeObject([]byte(text))
				}
				for range skeletonMinUses + 1 {
					got, ok, err := tmpl.skeletons[i].decodeFast(d, vars)
					require.NoError(t, err)
					if !ok {
						continue
					}
					fast++
					require.NoError(t, slowErr, "%s document %d: the fast path decoded what the slow path refuses, vars %v", name, i+1, vars)
					require.Equal(t, want, got, "%s document %d, vars %v", name, i+1, vars)
				}
			}
		}
	}
	require.Greater(t, fast, 1000, "the fast path was hardly taken; the test checks little")
}

// The documents the walk cannot follow never get a skeleton: a string function, an anchor,
// a variable in a key.
func TestSkeletonStepsAsideWhereItCannotBeExact(t *testing.T) {
	tmpl, err := parseClusterTemplate("tricky", []byte(trickyTemplate))
	require.NoError(t, err)
	vars := map[string]string{"NAME": "n", "COUNT": "1", "WORD": "w"}
	for i, want := range []string{"string function", "anchor", "key"} {
		for range skeletonMinUses + 1 {
			_, ok, err := tmpl.skeletons[i].decodeFast(tmpl.docs[i], vars)
			require.NoError(t, err)
			require.False(t, ok, "document %d (%s) took the fast path", i+1, want)
		}
	}
}
