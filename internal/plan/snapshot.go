// Package plan says what a change to a fleet repository will do: clusters and logical
// clusters added, removed and changed, Kubernetes upgrades and the waves they roll in, and the
// diff of the rendered Cluster API objects. It compares two snapshots and renders the report
// as text, markdown (for a pull-request comment) or JSON. It reads no files itself.
package plan

import (
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
	"github.com/dcn-ssu/lkaas/internal/resolve"
)

// Snapshot is one side of a change: a resolved and rendered tree.
type Snapshot struct {
	// Label names the side in the report, e.g. "origin/main" or "HEAD".
	Label string
	// Plans of every cluster, logical-cluster members included.
	Plans []*resolve.Plan
	// LogicalClusters of the tree, for membership and rollout order.
	LogicalClusters []*intentv1.LogicalCluster
	// Rendered objects of each cluster, keyed by "namespace/name" of the cluster.
	Rendered map[string][]*unstructured.Unstructured
}

func clusterKey(p *resolve.Plan) string { return p.Namespace + "/" + p.Name }

func objectKey(u *unstructured.Unstructured) string {
	return u.GetKind() + "/" + u.GetNamespace() + "/" + u.GetName()
}

// renderedYAML maps each object of a cluster to its YAML, for a stable textual diff.
func renderedYAML(objs []*unstructured.Unstructured) (map[string]string, error) {
	out := make(map[string]string, len(objs))
	for _, o := range objs {
		b, err := yaml.Marshal(o.Object)
		if err != nil {
			return nil, err
		}
		out[objectKey(o)] = string(b)
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
