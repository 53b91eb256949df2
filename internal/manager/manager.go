// Package manager builds the L-KaaS controller manager: the scheme, metrics and health
// endpoints, leader election, and (as later rooms arrive) the reconcilers.
package manager

import (
	"io"

	"context"
	"fmt"
	"github.com/go-logr/logr"
	"go.uber.org/zap/zapcore"
	"k8s.io/klog/v2"
	"maps"
	"os"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	ctrlmanager "sigs.k8s.io/controller-runtime/pkg/manager"
	"time"

	runtimeclient "github.com/fluxcd/pkg/runtime/client"
	runtimectrl "github.com/fluxcd/pkg/runtime/controller"
	"github.com/fluxcd/pkg/runtime/leaderelection"
	"github.com/fluxcd/pkg/runtime/logger"
	"github.com/fluxcd/pkg/runtime/probes"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
	"github.com/dcn-ssu/lkaas/controllers"
	"github.com/dcn-ssu/lkaas/internal/apply"
	"github.com/dcn-ssu/lkaas/internal/gitstatus"
	"github.com/dcn-ssu/lkaas/internal/source"
	"github.com/dcn-ssu/lkaas/internal/web"

	lkaasscheme "github.com/dcn-ssu/lkaas/internal/scheme"
)

// ControllerName is the field manager, event source and leader-election base of L-KaaS.
const ControllerName = "lkaas"

// Options are the controller's command-line settings.
type Options struct {
	Kubeconfig  string
	MetricsAddr string
	HealthAddr  string
	// WatchNamespace limits the controller to one namespace; empty watches all of them.
	WatchNamespace         string
	LeaderElectionNS       string
	ConcurrentReconciles   int
	GracefulShutdownPeriod time.Duration

	// AllowCrossNamespaceRefs lets a Fleet use a Flux source in another namespace. Unlike
	// Flux's default, L-KaaS refuses them unless told: a tenant must not deploy another
	// tenant's repository.
	AllowCrossNamespaceRefs bool
	// DefaultServiceAccount is impersonated by Fleets that name no spec.serviceAccountName
	// (Flux's --default-service-account lockdown); empty: they write as the controller.
	DefaultServiceAccount string
	// SharedProfileNamespaces hold profiles every Fleet may use (default: "default").
	SharedProfileNamespaces []string
	// ArtifactMaxSize bounds an unpacked Flux artifact, in bytes.
	ArtifactMaxSize int
	// GitCredentialsOverHTTP lets the status writer send credentials to plain-HTTP Git URLs.
	GitCredentialsOverHTTP bool
	// ExistingProbeInterval is how often an existing cluster's API server is asked whether it
	// answers (default 1m); ExistingProbeTimeout bounds one question (default 10s).
	ExistingProbeInterval time.Duration
	ExistingProbeTimeout  time.Duration
	// StatusWindow gathers a burst of status changes into one commit (default 2s).
	StatusWindow time.Duration
	// StatusHold keeps a climbing cluster's ladder steps out of the status branch until it
	// settles, for at most this long (flag default 5m; 0 commits every step).
	StatusHold time.Duration
	// WatchLabelSelector shards controllers the way Flux does (--watch-label-selector, e.g.
	// "sharding.fluxcd.io/key=shard1", or "!sharding.fluxcd.io/key" for the main instance):
	// only Fleets that match are reconciled, and only the objects they produced are cached.
	// Empty: every Fleet.
	WatchLabelSelector string
	// WebAddr is where the read-only status page listens (internal/web), e.g.
	// 127.0.0.1:9090; empty: no status page.
	WebAddr string
	// WebListening, when set, gets the status page's bound address (the demo asks for port 0).
	WebListening func(addr string)
	// SkipNameValidation lets several managers run in one process (tests): controller-runtime
	// otherwise refuses a second controller of the same name.
	SkipNameValidation bool

	// watchAllNamespaces is bound to --watch-all-namespaces; see watchNamespace.
	watchAllNamespaces *bool

	Logger logger.Options
	// LogOutput, when set, receives the log lines instead of standard error (the demo keeps
	// its terminal for the fleet and sends the controller's lines to a file).
	LogOutput      io.Writer
	LeaderElection leaderelection.Options
	Client         runtimeclient.Options
}

// BindFlags registers the options as flags, with the same names Flux controllers use where
// Flux has one, so that operators find them where they expect.
func (o *Options) BindFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Kubeconfig, "kubeconfig", "", "Path to a kubeconfig; defaults to $KUBECONFIG, then in-cluster config, then ~/.kube/config.")
	fs.StringVar(&o.MetricsAddr, "metrics-addr", ":8080", "The address the Prometheus metrics endpoint binds to; 0 disables it.")
	fs.StringVar(&o.HealthAddr, "health-addr", ":9440", "The address the health and readiness probes bind to.")
	o.watchAllNamespaces = fs.Bool("watch-all-namespaces", true, "Watch every namespace; when false, only the controller's own, given in $RUNTIME_NAMESPACE (as Flux controllers do).")
	fs.StringVar(&o.LeaderElectionNS, "leader-election-namespace", "", "Namespace of the leader-election lease; defaults to the controller's namespace.")
	fs.IntVar(&o.ConcurrentReconciles, "concurrent", 4, "The number of objects of one kind reconciled at once.")
	fs.DurationVar(&o.GracefulShutdownPeriod, "graceful-shutdown-timeout", 30*time.Second, "How long to wait for reconcilers to finish on shutdown.")
	o.Logger.BindFlags(fs)
	o.LeaderElection.BindFlags(fs)
	o.Client.BindFlags(fs)
	fs.BoolVar(&o.AllowCrossNamespaceRefs, "allow-cross-namespace-refs", false, "Let a Fleet use a Flux source in another namespace.")
	fs.StringVar(&o.DefaultServiceAccount, "default-service-account", "", "ServiceAccount (in each Fleet's namespace) to impersonate for Fleets that name none; the multi-tenancy lockdown. Empty: such Fleets write as the controller.")
	fs.BoolVar(&o.GitCredentialsOverHTTP, "insecure-git-credentials-over-http", false, "Let the status writer send Git credentials to plain-HTTP URLs (local Git servers only).")
	fs.DurationVar(&o.ExistingProbeInterval, "existing-probe-interval", time.Minute, "How often the API server of an existing cluster (spec.existing) is asked /readyz and /version.")
	fs.DurationVar(&o.ExistingProbeTimeout, "existing-probe-timeout", 10*time.Second, "How long one question to an existing cluster's API server may take before it counts as unreachable.")
	fs.DurationVar(&o.StatusWindow, "status-commit-window", 2*time.Second, "How long the status writer gathers changes into one commit.")
	fs.DurationVar(&o.StatusHold, "status-hold", 5*time.Minute, "How long at most the status writer keeps a cluster's steps up its ladder (Pending, Provisioning, Provisioned, Upgrading) out of Git before it settles; failures, Ready and registration are committed at once. 0 commits every step.")
	fs.StringSliceVar(&o.SharedProfileNamespaces, "shared-profile-namespaces", []string{"default"}, "Namespaces whose profiles any Fleet may use, unless the Fleet names its own.")
	fs.IntVar(&o.ArtifactMaxSize, "artifact-max-size", source.DefaultMaxUntarSize, "The largest unpacked Flux artifact a Fleet may have, in bytes.")
	fs.StringVar(&o.WebAddr, "web-addr", "", "The address the read-only status page binds to, e.g. 127.0.0.1:9090; empty disables it. It has no login of its own: see docs/operations.md before exposing it.")
	fs.StringVar(&o.WatchLabelSelector, "watch-label-selector", "", "Reconcile only Fleets with matching labels, e.g. '"+apply.ShardLabel+"=shard1' (a shard) or '!"+apply.ShardLabel+"' (the main instance); empty reconciles every Fleet.")
}

// Validate checks the options that can be checked without a cluster.
func (o *Options) Validate() error {
	_, err := o.watchSelector()
	return err
}

// watchSelector parses --watch-label-selector with Flux's helper; an empty one selects
// everything.
func (o *Options) watchSelector() (labels.Selector, error) {
	sel, err := runtimectrl.GetWatchSelector(runtimectrl.WatchOptions{LabelSelector: o.WatchLabelSelector})
	if err != nil {
		return nil, fmt.Errorf("invalid --watch-label-selector %q: %w (expected e.g. %s=shard1 or !%s)",
			o.WatchLabelSelector, err, apply.ShardLabel, apply.ShardLabel)
	}
	return sel, nil
}

// shardedCache filters by the selector exactly the kinds whose every object carries the
// Fleet's shard label: Fleets (labelled by their owner), the Clusters and LogicalClusters
// Fleets apply (internal/apply stamps the label) and CAPI Clusters (the Cluster controller
// stamps it). Everything else stays cluster-wide: Secrets, ConfigMaps and Flux sources are
// not ours to label; profiles and catalogs are read across Fleets (shared profile
// namespaces) and are few; other CAPI kinds are partly created by CAPI itself (topology
// control planes and MachineDeployments, bindings), without our labels.
func shardedCache(selector labels.Selector) func(*rest.Config, cache.Options) (cache.Cache, error) {
	return func(cfg *rest.Config, opts cache.Options) (cache.Cache, error) {
		byObject := maps.Clone(opts.ByObject)
		if byObject == nil {
			byObject = map[client.Object]cache.ByObject{}
		}
		for _, obj := range []client.Object{&automationv1alpha1.Fleet{}, &automationv1alpha1.Cluster{}, &intentv1.LogicalCluster{}} {
			byObject[obj] = cache.ByObject{Label: selector}
		}
		// ByObject needs the kind's REST mapping: filter CAPI Clusters only where CAPI is
		// installed (the Cluster controller watches them only then, too; if CAPI comes
		// later, capiKindWatch restarts the manager).
		capi := &clusterv1.Cluster{}
		if gvk, err := apiutil.GVKForObject(capi, opts.Scheme); err == nil {
			if _, err := opts.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version); err == nil {
				byObject[capi] = cache.ByObject{Label: selector}
			}
		}
		opts.ByObject = byObject
		return cache.New(cfg, opts)
	}
}

// watchNamespace is the one namespace to watch, or "" for all.
func (o *Options) watchNamespace() (string, error) {
	if o.WatchNamespace != "" || o.watchAllNamespaces == nil || *o.watchAllNamespaces {
		return o.WatchNamespace, nil
	}
	ns := os.Getenv("RUNTIME_NAMESPACE")
	if ns == "" {
		return "", fmt.Errorf("--watch-all-namespaces=false needs the controller's namespace in $RUNTIME_NAMESPACE")
	}
	return ns, nil
}

// RESTConfig loads the client configuration named by the options.
func (o *Options) RESTConfig() (*rest.Config, error) {
	var cfg *rest.Config
	var err error
	if o.Kubeconfig != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", o.Kubeconfig)
	} else {
		cfg, err = ctrl.GetConfig()
	}
	if err != nil {
		return nil, fmt.Errorf("loading kubeconfig: %w", err)
	}
	cfg.QPS, cfg.Burst = o.Client.QPS, o.Client.Burst
	cfg.UserAgent = ControllerName
	return cfg, nil
}

// New builds a manager with the L-KaaS scheme, metrics, probes and leader election.
func New(cfg *rest.Config, o Options) (ctrl.Manager, error) {
	log := newLogger(o)
	ctrl.SetLogger(log)
	if o.LogOutput != nil {
		// client-go's own lines (klog) go to the same place. Only when asked: klog's logger
		// is process-wide, and tests start several managers in one process.
		klog.SetLogger(log.WithName("runtime"))
	}

	shutdown := o.GracefulShutdownPeriod
	// The cache holds no managed fields and no last-applied annotations (stripUnread): at
	// 1,000 clusters they were the largest part of the cached objects (docs/performance.md).
	cacheOpts := cache.Options{DefaultTransform: stripUnread()}
	ns, err := o.watchNamespace()
	if err != nil {
		return nil, err
	}
	if ns != "" {
		cacheOpts.DefaultNamespaces = map[string]cache.Config{ns: {}}
	}
	selector, err := o.watchSelector()
	if err != nil {
		return nil, err
	}
	newCache := cache.New
	leaderElectionID := leaderelection.GenerateID(ControllerName + "-leader-election")
	if !selector.Empty() {
		newCache = shardedCache(selector)
		// Each shard elects its own leader, as Flux's sharded controllers do.
		leaderElectionID = leaderelection.GenerateID(ControllerName+"-leader-election", o.WatchLabelSelector)
	}
	// Cluster API kinds not served now are not watched (the Cluster controller and the
	// sharded cache look at them once, below); note them before anything else looks, so that
	// one installed meanwhile makes a needless restart rather than a missed watch.
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("creating a discovery client: %w", err)
	}
	unservedCAPI, err := unservedKinds(dc, controllers.WatchedClusterAPIKinds())
	if err != nil {
		return nil, fmt.Errorf("checking which Cluster API kinds are served: %w", err)
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Cache:                         cacheOpts,
		NewCache:                      newCache,
		Controller:                    config.Controller{SkipNameValidation: ptr.To(o.SkipNameValidation)},
		Scheme:                        lkaasscheme.New(),
		Metrics:                       metricsserver.Options{BindAddress: o.MetricsAddr},
		HealthProbeBindAddress:        o.HealthAddr,
		LeaderElection:                o.LeaderElection.Enable,
		LeaderElectionID:              leaderElectionID,
		LeaderElectionNamespace:       o.LeaderElectionNS,
		LeaderElectionReleaseOnCancel: o.LeaderElection.ReleaseOnCancel,
		LeaseDuration:                 &o.LeaderElection.LeaseDuration,
		RenewDeadline:                 &o.LeaderElection.RenewDeadline,
		RetryPeriod:                   &o.LeaderElection.RetryPeriod,
		GracefulShutdownTimeout:       &shutdown,
		Logger:                        log,
	})
	if err != nil {
		return nil, fmt.Errorf("creating manager: %w", err)
	}
	probes.SetupChecks(mgr, log)

	fleets := &controllers.FleetReconciler{
		Client:       mgr.GetClient(),
		Cache:        mgr.GetCache(),
		Events:       controllers.BoundedEvents(mgr.GetEventRecorder(ControllerName)),
		Fetcher:      source.NewFetcher(source.FetcherOptions{MaxUntarSize: o.ArtifactMaxSize}),
		Builds:       controllers.NewBuildCache(),
		Appliers:     controllers.NewApplierCache(),
		Metrics:      controllers.NewFleetMetrics(metrics.Registry),
		Impersonator: controllers.NewImpersonator(mgr.GetConfig(), client.Options{Scheme: mgr.GetScheme(), Mapper: mgr.GetRESTMapper()}),
		Settings: controllers.FleetSettings{
			DefaultServiceAccount:          o.DefaultServiceAccount,
			AllowCrossNamespaceRefs:        o.AllowCrossNamespaceRefs,
			DefaultSharedProfileNamespaces: o.SharedProfileNamespaces,
			MaxConcurrentReconciles:        o.ConcurrentReconciles,
		},
	}
	if err := fleets.SetupWithManager(context.Background(), mgr); err != nil {
		return nil, fmt.Errorf("setting up the Fleet controller: %w", err)
	}
	clusters := &controllers.ClusterReconciler{
		Client:       mgr.GetClient(),
		Cache:        mgr.GetCache(),
		APIReader:    mgr.GetAPIReader(),
		Events:       controllers.BoundedEvents(mgr.GetEventRecorder(ControllerName)),
		Metrics:      controllers.NewClusterMetrics(metrics.Registry),
		Impersonator: fleets.Impersonator,
		Settings: controllers.ClusterSettings{
			DefaultServiceAccount:          o.DefaultServiceAccount,
			DefaultSharedProfileNamespaces: o.SharedProfileNamespaces,
			MaxConcurrentReconciles:        o.ConcurrentReconciles,
			ExistingProbeInterval:          o.ExistingProbeInterval,
			ExistingProbeTimeout:           o.ExistingProbeTimeout,
		},
	}
	if err := clusters.SetupWithManager(context.Background(), mgr); err != nil {
		return nil, fmt.Errorf("setting up the Cluster controller: %w", err)
	}
	logicalClusters := &controllers.LogicalClusterReconciler{Client: mgr.GetClient(), Cache: mgr.GetCache(), Events: controllers.BoundedEvents(mgr.GetEventRecorder(ControllerName)),
		Impersonator: fleets.Impersonator, DefaultServiceAccount: o.DefaultServiceAccount}
	if err := logicalClusters.SetupWithManager(mgr); err != nil {
		return nil, fmt.Errorf("setting up the LogicalCluster controller: %w", err)
	}
	emcoClients := &controllers.EMCOClients{APIReader: mgr.GetAPIReader(), Cache: mgr.GetCache(), Metrics: controllers.NewEMCOMetrics(metrics.Registry)}
	clusterRegistrar := &controllers.ClusterRegistrar{
		Client:                  mgr.GetClient(),
		Cache:                   mgr.GetCache(),
		APIReader:               mgr.GetAPIReader(),
		Events:                  controllers.BoundedEvents(mgr.GetEventRecorder(ControllerName)),
		Clients:                 emcoClients,
		MaxConcurrentReconciles: o.ConcurrentReconciles,
	}
	if err := clusterRegistrar.SetupWithManager(mgr); err != nil {
		return nil, fmt.Errorf("setting up the EMCO cluster registrar: %w", err)
	}
	cloudRegistrar := &controllers.LogicalCloudRegistrar{
		Client: mgr.GetClient(), Cache: mgr.GetCache(), Events: controllers.BoundedEvents(mgr.GetEventRecorder(ControllerName)), Clients: emcoClients,
	}
	if err := cloudRegistrar.SetupWithManager(mgr); err != nil {
		return nil, fmt.Errorf("setting up the EMCO logical-cloud registrar: %w", err)
	}
	gitWriter := &gitstatus.Writer{}
	// The writer keeps a clone per status branch between passes; they go with the manager.
	if err := mgr.Add(ctrlmanager.RunnableFunc(func(ctx context.Context) error {
		<-ctx.Done()
		gitWriter.Close()
		return nil
	})); err != nil {
		return nil, fmt.Errorf("adding the status writer's cleanup: %w", err)
	}
	statusWriter := &controllers.StatusWriter{
		Client: mgr.GetClient(), Cache: mgr.GetCache(), APIReader: mgr.GetAPIReader(),
		Events: controllers.BoundedEvents(mgr.GetEventRecorder(ControllerName)), Writer: gitWriter,
		Window: o.StatusWindow, Hold: o.StatusHold, CredentialsOverHTTP: o.GitCredentialsOverHTTP, AllowCrossNamespaceRefs: o.AllowCrossNamespaceRefs,
	}
	if err := statusWriter.SetupWithManager(mgr); err != nil {
		return nil, fmt.Errorf("setting up the status writer: %w", err)
	}
	if o.WebAddr != "" {
		// The page reads the manager's cache: no request to the API server per page view.
		// The history page reads the status branches' logs the writer keeps: no fetch per view.
		page, err := web.New(mgr.GetCache(), mgr.GetCache(), web.Options{StatusLog: gitWriter})
		if err != nil {
			return nil, fmt.Errorf("setting up the status page: %w", err)
		}
		if err := mgr.Add(&web.Runnable{Addr: o.WebAddr, Server: page, Listening: o.WebListening}); err != nil {
			return nil, fmt.Errorf("adding the status page: %w", err)
		}
	}
	if len(unservedCAPI) > 0 {
		if err := mgr.Add(&capiKindWatch{discovery: dc, missing: unservedCAPI, period: capiCheckPeriod}); err != nil {
			return nil, fmt.Errorf("adding the Cluster API kind watch: %w", err)
		}
	}
	return mgr, nil
}

// newLogger is Flux's logger, or, with LogOutput, the same encoding and level written there.
func newLogger(o Options) logr.Logger {
	if o.LogOutput == nil {
		return logger.NewLogger(o.Logger)
	}
	level := zapcore.InfoLevel
	if o.Logger.LogLevel == "error" {
		level = zapcore.ErrorLevel
	} else if o.Logger.LogLevel == "debug" || o.Logger.LogLevel == "trace" {
		level = zapcore.DebugLevel
	}
	opts := []zap.Opts{zap.WriteTo(o.LogOutput), zap.Level(level)}
	if o.Logger.LogEncoding == "console" {
		opts = append(opts, zap.ConsoleEncoder())
	} else {
		opts = append(opts, zap.JSONEncoder())
	}
	return zap.New(opts...)
}
