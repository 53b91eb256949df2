package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/internal/apply"
	"github.com/dcn-ssu/lkaas/internal/emco"
)

// Keys of the EMCO credentials Secret a Fleet endpoint names.
const (
	EMCOTokenKey    = "token"
	EMCOCABundleKey = "ca.crt"
)

// emcoTarget is one EMCO endpoint of a Fleet, ready to talk to.
type emcoTarget struct {
	Fleet    *automationv1alpha1.Fleet
	Endpoint string
	Project  string
	Rsync    automationv1alpha1.EMCORsync
	Client   *emco.Client
}

// errNoEndpoint is an endpoint name the Fleet does not list; only a change of the Fleet or
// of the object's managed-by label helps, so it is reported, not retried.
type errNoEndpoint struct{ name, fleet string }

func (e *errNoEndpoint) Error() string {
	return fmt.Sprintf("the Fleet %s has no EMCO endpoint named %q (spec.emco.endpoints)", e.fleet, e.name)
}

// fleetOf reads the Fleet that applied obj (nil when obj has none, or the Fleet is gone).
func fleetOf(ctx context.Context, r client.Reader, obj client.Object) (*automationv1alpha1.Fleet, error) {
	key, ok := apply.FleetFor(obj)
	if !ok {
		return nil, nil
	}
	fleet := &automationv1alpha1.Fleet{}
	if err := r.Get(ctx, key, fleet); err != nil {
		return nil, client.IgnoreNotFound(err)
	}
	return fleet, nil
}

// endpointName picks the endpoint: the first managed-by label found, else the Fleet's default.
func endpointName(settings *automationv1alpha1.EMCOSettings, labelSets ...map[string]string) string {
	for _, labels := range labelSets {
		if name := labels[automationv1alpha1.ManagedByLabel]; name != "" {
			return name
		}
	}
	if settings.DefaultEndpoint != "" {
		return settings.DefaultEndpoint
	}
	if len(settings.Endpoints) == 1 {
		return settings.Endpoints[0].Name
	}
	return ""
}

// emcoProject is the EMCO project: the object's project label (the seed's
// automation.dcn.ssu.ac.kr/project), else the endpoint's project, else the Fleet's namespace.
func emcoProject(ep *automationv1alpha1.EMCOEndpoint, fleet *automationv1alpha1.Fleet, labelSets ...map[string]string) string {
	for _, labels := range labelSets {
		if p := labels[automationv1alpha1.ProjectLabel]; p != "" {
			return p
		}
	}
	if ep.Project != "" {
		return ep.Project
	}
	return fleet.Namespace
}

func findEndpoint(fleet *automationv1alpha1.Fleet, name string) (*automationv1alpha1.EMCOEndpoint, error) {
	if fleet.Spec.EMCO != nil {
		for i := range fleet.Spec.EMCO.Endpoints {
			if ep := &fleet.Spec.EMCO.Endpoints[i]; ep.Name == name {
				return ep, nil
			}
		}
	}
	return nil, &errNoEndpoint{name: name, fleet: fleet.Namespace + "/" + fleet.Name}
}

// EMCOClients keeps one client per Fleet endpoint and rebuilds it when the endpoint or its
// credentials Secret changes, so that connections are reused across reconciles.
type EMCOClients struct {
	// APIReader reads credentials Secrets; Secrets are not cached with their data.
	APIReader client.Reader
	// Cache holds Secrets' metadata: an unchanged resourceVersion spares reading the data.
	Cache client.Reader
	// Metrics count calls by endpoint and code; nil counts nothing.
	Metrics *EMCOMetrics
	// Options are the base of every client (timeouts, retries); tests shorten them.
	Options emco.Options

	mu      sync.Mutex
	clients map[string]cachedEMCOClient
}

type cachedEMCOClient struct {
	fingerprint string
	client      *emco.Client
}

// Target returns the endpoint called name of fleet, with a client for it.
func (c *EMCOClients) Target(ctx context.Context, fleet *automationv1alpha1.Fleet, name string, projectLabels ...map[string]string) (*emcoTarget, error) {
	ep, err := findEndpoint(fleet, name)
	if err != nil {
		return nil, err
	}
	cl, err := c.client(ctx, fleet, ep)
	if err != nil {
		return nil, err
	}
	t := &emcoTarget{Fleet: fleet, Endpoint: ep.Name, Project: emcoProject(ep, fleet, projectLabels...), Client: cl,
		Rsync: automationv1alpha1.EMCORsync{Host: "rsync", Port: emco.RsyncDefaultPort}}
	if ep.Rsync != nil {
		if ep.Rsync.Host != "" {
			t.Rsync.Host = ep.Rsync.Host
		}
		if ep.Rsync.Port != 0 {
			t.Rsync.Port = ep.Rsync.Port
		}
	}
	return t, nil
}

func (c *EMCOClients) client(ctx context.Context, fleet *automationv1alpha1.Fleet, ep *automationv1alpha1.EMCOEndpoint) (*emco.Client, error) {
	spec, _ := json.Marshal(ep)
	sum := sha256.Sum256(spec)
	id := fleet.Namespace + "/" + fleet.Name + "/" + ep.Name
	var secretKey client.ObjectKey
	if ep.SecretRef != nil {
		secretKey = client.ObjectKey{Namespace: fleet.Namespace, Name: ep.SecretRef.Name}
	}
	// A pass with an unchanged endpoint and credentials Secret (same resourceVersion in the
	// metadata cache) reuses the client without reading the Secret's data.
	if version, ok := c.cachedSecretVersion(ctx, secretKey); ok {
		if cl := c.lookup(id, hex.EncodeToString(sum[:])+"/"+version); cl != nil {
			return cl, nil
		}
	}

	var token, ca []byte
	var secretVersion string
	if ep.SecretRef != nil {
		secret := &corev1.Secret{}
		if err := c.APIReader.Get(ctx, secretKey, secret); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, fmt.Errorf("the EMCO credentials Secret %s of endpoint %s is missing", secretKey, ep.Name)
			}
			return nil, err
		}
		token, ca, secretVersion = secret.Data[EMCOTokenKey], secret.Data[EMCOCABundleKey], secret.ResourceVersion
	}
	opts := c.Options
	opts.Endpoints = emco.Endpoints{Orchestrator: ep.OrchestratorURL, CLM: ep.ClmURL, DCM: ep.DcmURL}
	if ep.URL != "" {
		opts.Endpoints = emco.SingleEndpoint(ep.URL)
	}
	opts.BearerToken, opts.CABundle = string(token), ca
	opts.Observe = c.Metrics.observer(ep.Name)
	cl, err := emco.New(opts)
	if err != nil {
		return nil, fmt.Errorf("EMCO endpoint %s: %w", ep.Name, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.clients == nil {
		c.clients = map[string]cachedEMCOClient{}
	}
	c.clients[id] = cachedEMCOClient{fingerprint: hex.EncodeToString(sum[:]) + "/" + secretVersion, client: cl}
	return cl, nil
}

// cachedSecretVersion is the resourceVersion of the credentials Secret in the metadata cache
// ("" for an endpoint without one); ok is false when the cache cannot tell.
func (c *EMCOClients) cachedSecretVersion(ctx context.Context, key client.ObjectKey) (string, bool) {
	if key.Name == "" {
		return "", true
	}
	if c.Cache == nil {
		return "", false
	}
	meta := &metav1.PartialObjectMetadata{}
	meta.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	if err := c.Cache.Get(ctx, key, meta); err != nil {
		return "", false
	}
	return meta.ResourceVersion, true
}

func (c *EMCOClients) lookup(id, fingerprint string) *emco.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cached, ok := c.clients[id]; ok && cached.fingerprint == fingerprint {
		return cached.client
	}
	return nil
}

// EMCOMetrics are the lkaas_emco_* Prometheus metrics.
type EMCOMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewEMCOMetrics registers the metrics with reg.
func NewEMCOMetrics(reg prometheus.Registerer) *EMCOMetrics {
	return &EMCOMetrics{
		requests: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lkaas_emco_requests_total",
			Help: "EMCO REST calls by endpoint, service, method and HTTP status code (0: no answer).",
		}, []string{"endpoint", "service", "method", "code"})),
		duration: register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "lkaas_emco_request_duration_seconds", Help: "Duration of one EMCO REST call (one attempt).",
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}, []string{"endpoint", "service"})),
	}
}

func (m *EMCOMetrics) observer(endpoint string) func(emco.Call) {
	if m == nil {
		return nil
	}
	return func(call emco.Call) {
		m.requests.WithLabelValues(endpoint, string(call.Service), call.Method, strconv.Itoa(call.StatusCode)).Inc()
		m.duration.WithLabelValues(endpoint, string(call.Service)).Observe(call.Duration.Seconds())
	}
}

// Condition and reasons of the registrars.
const (
	// RegisteredCondition is True once EMCO holds the cluster (or the logical cloud) as wanted.
	RegisteredCondition = "Registered"

	ReasonRegistered           = "Registered"
	ReasonDeregistered         = "Deregistered"
	ReasonWaitingForCluster    = "WaitingForCluster"
	ReasonWaitingForKubeconfig = "WaitingForKubeconfig"
	ReasonWaitingForMembers    = "WaitingForMembers"
	ReasonEndpointNotFound     = "EndpointNotFound"
	ReasonEMCOUnavailable      = "EMCOUnavailable"
	ReasonRegistrationFailed   = "RegistrationFailed"
	ReasonDeregistering        = "Deregistering"
	ReasonNameTaken            = "NameTaken"
	ReasonLogicalCloudBusy     = "LogicalCloudBusy"
)

// EMCOFinalizer holds a Cluster or LogicalCluster until EMCO no longer knows it; the Cluster
// controller deletes no CAPI object while it is there.
const EMCOFinalizer = automationv1alpha1.LabelPrefix + "emco"

// emcoFailureReason tells an outage (EMCO did not answer, or answered 5xx) from a refusal.
func emcoFailureReason(err error) string {
	code := emco.StatusCode(err)
	switch {
	case errors.Is(err, emco.ErrLogicalCloudBusy):
		return ReasonLogicalCloudBusy
	case code == 0 || code >= 500:
		return ReasonEMCOUnavailable
	}
	return ReasonRegistrationFailed
}

// reportEMCOFailure marks obj Registered=False with the failure's reason and says when to try
// again: soon and quietly while a logical cloud is busy (dcm is working), with a warning event
// and controller-runtime's backoff otherwise.
func reportEMCOFailure(obj conditions.Setter, recorder events.EventRecorder, err error, what string) (ctrl.Result, error) {
	reason := emcoFailureReason(err)
	conditions.MarkFalse(obj, RegisteredCondition, reason, "%s: %s", what, err)
	if after, ok := emcoRetryAfter(err); ok {
		return ctrl.Result{RequeueAfter: after}, nil
	}
	recorder.Eventf(obj, nil, corev1.EventTypeWarning, reason, "Register", "%s: %s", what, err)
	return ctrl.Result{}, err
}

// emcoRetryAfter is when to try again after err: soon while dcm works, with backoff otherwise
// (the caller returns the error and controller-runtime backs off).
func emcoRetryAfter(err error) (time.Duration, bool) {
	if errors.Is(err, emco.ErrLogicalCloudBusy) {
		return 2 * time.Second, true
	}
	return 0, false
}

// ownerKvPair is the kv-pair set by which L-KaaS marks a clm cluster as its own: it names the
// L-KaaS Cluster, so that two namespaces (or a human) never take over each other's cluster.
const ownerKvPair = "lkaas-owner"

func ownerKv(obj metav1.Object) emco.ClusterKvPair {
	return emco.ClusterKvPair{
		Metadata: emco.Metadata{Name: ownerKvPair, Description: "registered by L-KaaS"},
		Spec: emco.KvPairsSpec{KV: []map[string]any{
			{"namespace": obj.GetNamespace()}, {"name": obj.GetName()},
		}},
	}
}
