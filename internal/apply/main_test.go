package apply

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dcn-ssu/lkaas/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Run(m, &env) }

// fixture is what most tests need: a namespace of their own, an informer cache on it and an
// Applier whose writes are counted.
type fixture struct {
	ns      string
	fleet   types.NamespacedName
	cache   cache.Cache
	writes  *writeCounter
	applier *Applier
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ns := env.Namespace(t)
	f := &fixture{ns: ns, fleet: types.NamespacedName{Namespace: ns, Name: "fleet"}}
	f.cache = startCache(t, ns)
	var c client.Client
	c, f.writes = countingClient(t)
	f.applier = New(c, f.cache, Options{Fleet: f.fleet})
	return f
}

// startCache runs an informer cache over one namespace, as the manager's cache would.
func startCache(t testing.TB, namespaces ...string) cache.Cache {
	t.Helper()
	opts := cache.Options{Scheme: env.Scheme, DefaultNamespaces: map[string]cache.Config{}}
	for _, ns := range namespaces {
		opts.DefaultNamespaces[ns] = cache.Config{}
	}
	c, err := cache.New(env.Config, opts)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() { _ = c.Start(ctx) }()
	require.True(t, c.WaitForCacheSync(ctx))
	return c
}

func ctxFor(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}
