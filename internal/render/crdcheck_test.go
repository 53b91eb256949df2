package render

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dcn-ssu/lkaas/internal/plane"
	"github.com/dcn-ssu/lkaas/internal/resolve"
	"github.com/dcn-ssu/lkaas/internal/testenv"
)

// The CRD check runs rendered objects through a real kube-apiserver with the real CRDs
// installed (server-side dry-run create), so schema mistakes in templates or in the Go that
// builds objects fail here, not in a user's management cluster. The API server starts on
// first use, so the package's unit tests, fuzzing and benchmarks do not pay for it.

var (
	envOnce sync.Once
	crdEnv  *testenv.Env
	envErr  error
	// capoInstalled tells whether CAPO's CRDs were found and installed.
	capoInstalled bool
)

func TestMain(m *testing.M) {
	code := m.Run()
	if crdEnv != nil {
		_ = crdEnv.Stop()
	}
	os.Exit(code)
}

// capoCRDDir is CAPO v0.13.0's CRDs when the module cache already holds them (the module
// proxy here does not serve CAPO); else the OpenStack kinds are skipped.
func capoCRDDir() (string, bool) {
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		return "", false
	}
	capo := filepath.Join(strings.TrimSpace(string(out)), "sigs.k8s.io", "cluster-api-provider-openstack@v0.13.0", "config", "crd", "bases")
	if _, err := os.Stat(capo); err != nil {
		return "", false
	}
	return capo, true
}

func apiServer(t *testing.T) *testenv.Env {
	t.Helper()
	envOnce.Do(func() {
		opts := []plane.Option{plane.WithClusterAPICRDs(), plane.WithCAPDCRDs(), plane.WithHelmAddonCRDs()}
		if dir, ok := capoCRDDir(); ok {
			opts = append(opts, plane.WithCRDDirs(dir))
			capoInstalled = true
		}
		crdEnv, envErr = testenv.Start(opts...)
	})
	require.NoError(t, envErr)
	return crdEnv
}

// dryRunCreate creates every rendered object in ns with a server-side dry run. Strict field
// validation makes an unknown or misspelt field an error instead of a silent prune.
func dryRunCreate(t *testing.T, env *testenv.Env, ns string, res *Result) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, o := range res.Objects {
		if strings.HasPrefix(o.GetKind(), "OpenStack") && !capoInstalled {
			t.Logf("skipping %s/%s: CAPO CRDs are not in the module cache", o.GetKind(), o.GetName())
			continue
		}
		obj := o.DeepCopy()
		obj.SetNamespace(ns)
		require.NoError(t, env.Client.Create(ctx, obj, client.DryRunAll, client.FieldValidation("Strict")), "%s/%s", o.GetKind(), o.GetName())
	}
}

func TestRenderedObjectsMeetTheClusterAPICRDs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a kube-apiserver")
	}
	env := apiServer(t)
	cases := map[string]struct {
		plan func() *resolve.Plan
		opts Options
	}{
		"CAPD in-memory": {plan: func() *resolve.Plan { return inMemoryPlan(1) }, opts: Options{Root: repoRoot(t)}},
		"topology":       {plan: topologyPlan},
		"openstack":      {plan: seedClusterSamplePlan, opts: Options{Root: repoRoot(t), Variables: openstackFleetVariables()}},
		"CAPD in-memory, autoscaled workers": {plan: func() *resolve.Plan {
			p := inMemoryPlan(3)
			p.WorkerAutoscaling = &resolve.WorkerRange{Min: 1, Max: 4}
			return p
		}, opts: Options{Root: repoRoot(t)}},
		"existing cluster with a network add-on": {plan: existingPlan, opts: Options{Root: repoRoot(t)}},
		"topology, autoscaled workers": {plan: func() *resolve.Plan {
			p := topologyPlan()
			p.WorkerAutoscaling = &resolve.WorkerRange{Min: 1, Max: 4}
			return p
		}},
	}
	t.Run("a misspelt field is caught", func(t *testing.T) {
		res, err := Render(inMemoryPlan(2), Options{Root: repoRoot(t)})
		require.NoError(t, err)
		kcp := res.Objects[2].DeepCopy()
		require.Equal(t, "KubeadmControlPlane", kcp.GetKind())
		kcp.Object["spec"].(map[string]any)["replica"] = int64(3)
		kcp.SetNamespace(env.Namespace(t))
		err = env.Client.Create(context.Background(), kcp, client.DryRunAll, client.FieldValidation("Strict"))
		require.ErrorContains(t, err, "replica")
	})
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			res, err := Render(tc.plan(), tc.opts)
			require.NoError(t, err)
			dryRunCreate(t, env, env.Namespace(t), res)
		})
	}
}
