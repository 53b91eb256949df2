//go:build e2e

package plane_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dcn-ssu/lkaas/internal/plane"
	"github.com/dcn-ssu/lkaas/internal/render"
	"github.com/dcn-ssu/lkaas/internal/testenv"
)

// The real Cluster API managers build a cluster from the project's in-memory template: the
// Cluster becomes Available, and deleting it removes it. Run with
//
//	go test -tags e2e -run TestClusterAPI -v ./internal/plane/
//
// The managers' logs stay in $LKAAS_E2E_LOG_DIR (default: a new directory under the system
// temporary directory, printed by the test).
func TestClusterAPIBuildsAndDeletesAnInMemoryCluster(t *testing.T) {
	begin := time.Now()
	env, err := testenv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stopping the API server: %v", err)
		}
	})
	t.Logf("API server and etcd up in %s", time.Since(begin).Round(time.Millisecond))

	logDir := os.Getenv("LKAAS_E2E_LOG_DIR")
	if logDir == "" {
		if logDir, err = os.MkdirTemp("", "lkaas-capi-e2e-"); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("manager logs in %s", logDir)

	capi, err := plane.StartClusterAPI(env.APIServer, logDir, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(capi.Stop)
	t.Logf("CRDs and webhooks installed in %s; four managers ready in %s",
		capi.CRDInstall.Round(time.Millisecond), capi.ManagersReady.Round(time.Millisecond))

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c := env.Client

	// kustomize added the contract labels that CAPI core reads from provider CRDs.
	devCluster := &unstructured.Unstructured{}
	devCluster.SetGroupVersionKind(schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"})
	if err := c.Get(ctx, client.ObjectKey{Name: "devclusters.infrastructure.cluster.x-k8s.io"}, devCluster); err != nil {
		t.Fatal(err)
	}
	if got := devCluster.GetLabels()["cluster.x-k8s.io/v1beta2"]; got != "v1beta2" {
		t.Fatalf("DevCluster CRD label cluster.x-k8s.io/v1beta2 = %q, want v1beta2", got)
	}

	ns := env.Namespace(t)
	const name = "e2e-inmemory"
	objs := renderInMemoryTemplate(t, map[string]string{
		"CLUSTER_NAME":                name,
		"NAMESPACE":                   ns,
		"KUBERNETES_VERSION":          "v1.34.1", // gitops-examples/fleet-repo/profiles/in-memory.yaml
		"CONTROL_PLANE_MACHINE_COUNT": "3",
		"WORKER_MACHINE_COUNT":        "2",
	})
	applyStart := time.Now()
	for _, o := range objs {
		o.SetNamespace(ns)
		// CAPD v1.14.2's in-memory backend panics ("assignment to entry in nil map",
		// inmemorycluster_backend.go:67) on a DevCluster without annotations: it writes its
		// listener annotation into the nil map. ClusterClass-generated DevClusters always carry
		// annotations; the template's own DevCluster needs one until the template gets it.
		if o.GetKind() == "DevCluster" && len(o.GetAnnotations()) == 0 {
			t.Logf("DevCluster %s has no annotations: adding one, or CAPD's in-memory backend panics", o.GetName())
			o.SetAnnotations(map[string]string{"lkaas.dcn.ssu.ac.kr/capd-in-memory": "needs-an-annotation-map"})
		}
		if err := c.Create(ctx, o); err != nil {
			t.Fatalf("creating %s %s: %v", o.GetKind(), o.GetName(), err)
		}
	}

	cluster := &unstructured.Unstructured{}
	cluster.SetGroupVersionKind(schema.GroupVersionKind{Group: "cluster.x-k8s.io", Version: "v1beta2", Kind: "Cluster"})
	key := client.ObjectKey{Namespace: ns, Name: name}
	lastLog := time.Now()
	err = poll(ctx, 3*time.Minute, func() (bool, error) {
		if err := c.Get(ctx, key, cluster); err != nil {
			return false, err
		}
		if time.Since(lastLog) > 15*time.Second {
			lastLog = time.Now()
			t.Logf("%s after apply: %s", time.Since(applyStart).Round(time.Second), conditionSummary(cluster))
		}
		return conditionTrue(cluster, "Available"), nil
	})
	if err != nil {
		t.Fatalf("Cluster not Available: %v\nconditions: %s", err, conditionSummary(cluster))
	}
	t.Logf("Cluster Available %s after apply", time.Since(applyStart).Round(time.Millisecond))

	rss := capi.PeakRSS()
	var total int64
	names := make([]string, 0, len(rss))
	for n, b := range rss {
		names = append(names, n)
		total += b
	}
	sort.Strings(names)
	var parts []string
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s %d MiB", n, rss[n]>>20))
	}
	t.Logf("peak RSS: %s (sum %d MiB)", strings.Join(parts, ", "), total>>20)

	deleteStart := time.Now()
	if err := c.Delete(ctx, cluster); err != nil {
		t.Fatal(err)
	}
	err = poll(ctx, 2*time.Minute, func() (bool, error) {
		err := c.Get(ctx, key, cluster)
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
	if err != nil {
		t.Fatalf("Cluster not gone: %v\nconditions: %s", err, conditionSummary(cluster))
	}
	t.Logf("Cluster deleted in %s", time.Since(deleteStart).Round(time.Millisecond))

	// Its machines went with it.
	machines := &unstructured.UnstructuredList{}
	machines.SetGroupVersionKind(schema.GroupVersionKind{Group: "cluster.x-k8s.io", Version: "v1beta2", Kind: "MachineList"})
	if err := c.List(ctx, machines, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	if len(machines.Items) != 0 {
		t.Errorf("%d Machines left after the Cluster was deleted", len(machines.Items))
	}
}

// renderInMemoryTemplate renders gitops-examples' in-memory cluster template the way the
// project substitutes templates (clusterctl's variable syntax).
func renderInMemoryTemplate(t *testing.T, vars map[string]string) []*unstructured.Unstructured {
	t.Helper()
	root, err := plane.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(root, "gitops-examples", "fleet-repo", "templates", "docker-inmemory", "cluster-template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	text, err := render.Substitute(string(raw), vars)
	if err != nil {
		t.Fatal(err)
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader([]byte(text)), 4096)
	var out []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatal(err)
		}
		if len(u.Object) > 0 {
			out = append(out, u)
		}
	}
	return out
}

func conditionTrue(u *unstructured.Unstructured, typ string) bool {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == typ {
			return m["status"] == "True"
		}
	}
	return false
}

func conditionSummary(u *unstructured.Unstructured) string {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	var parts []string
	for _, c := range conds {
		m, _ := c.(map[string]any)
		s := fmt.Sprintf("%v=%v", m["type"], m["status"])
		if m["status"] != "True" && m["reason"] != nil {
			s += fmt.Sprintf("(%v)", m["reason"])
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

func poll(ctx context.Context, timeout time.Duration, f func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		ok, err := f()
		if ok || err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}
