package plane

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// capiProvider is one Cluster API manager: where its binary and its config/ tree come from
// and what it needs beyond the flags every manager gets.
type capiProvider struct {
	// name is the manager's log name and the prefix of its webhook configurations (the names
	// clusterctl gives them), since all four providers ship the same names.
	name   string
	tool   string // hack/tools.sh name
	module string
	dir    string // the provider's directory inside the module (holds config/)
	args   []string
	env    []string
}

var capiProviders = []capiProvider{
	{name: "capi", tool: "capi-core", module: ClusterAPIModule, dir: "core",
		args: []string{"--feature-gates=ClusterTopology=true"}},
	{name: "capi-kubeadm-bootstrap", tool: "capi-kubeadm-bootstrap", module: ClusterAPIModule, dir: "bootstrap/kubeadm"},
	{name: "capi-kubeadm-control-plane", tool: "capi-kubeadm-control-plane", module: ClusterAPIModule, dir: "controlplane/kubeadm"},
	// CAPD serves the in-memory backend's workload API servers on POD_IP, ports 20000 and up,
	// plus a debug server on 19000: one CAPD per machine.
	{name: "capd", tool: "capd", module: ClusterAPITestModule, dir: "infrastructure/docker",
		env: []string{"POD_IP=127.0.0.1"}},
}

// ClusterAPI is the four real Cluster API managers (core, kubeadm bootstrap, kubeadm control
// plane, CAPD with its in-memory backend) running as child processes against an APIServer, with
// their CRDs and webhooks installed. Stop ends them; their logs stay in LogDir.
type ClusterAPI struct {
	// LogDir holds <manager>.log, the kubeconfig they use (unless one was given) and the
	// webhook serving certificates.
	LogDir string
	// Managers in start order: capi, capi-kubeadm-bootstrap, capi-kubeadm-control-plane, capd.
	Managers []*Process
	// Timings of the start, for reports.
	CRDInstall, ManagersReady time.Duration

	env            *APIServer
	webhookConfigs []*unstructured.Unstructured
	stopOnce       sync.Once
}

// StartClusterAPI installs the Cluster API CRDs (rendered like `kubectl kustomize config/crd`,
// so conversion webhooks and the contract labels are there) and webhook configurations of
// the four providers into env, starts their managers with kubeconfig (when empty, an
// administrator kubeconfig is written to logDir) and waits until each serves its webhooks.
// The caller calls Stop, also when a test fails; on error StartClusterAPI stops what it
// started itself.
func StartClusterAPI(env *APIServer, logDir, kubeconfig string) (*ClusterAPI, error) {
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, err
	}
	bins := make([]string, len(capiProviders))
	for i, p := range capiProviders {
		bin, err := BuiltToolPath(p.tool)
		if err != nil {
			return nil, err
		}
		bins[i] = bin
	}
	if kubeconfig == "" {
		data, err := env.Kubeconfig()
		if err != nil {
			return nil, fmt.Errorf("plane: kubeconfig for Cluster API: %w", err)
		}
		kubeconfig = filepath.Join(logDir, "kubeconfig")
		if err := os.WriteFile(kubeconfig, data, 0o600); err != nil {
			return nil, err
		}
	}

	ca, serving, err := webhookCerts()
	if err != nil {
		return nil, err
	}
	caBundle := base64.StdEncoding.EncodeToString(ca)

	type ports struct{ webhook, health, diagnostics int }
	portsOf := make([]ports, len(capiProviders))
	for i := range capiProviders {
		for _, p := range []*int{&portsOf[i].webhook, &portsOf[i].health, &portsOf[i].diagnostics} {
			if *p, err = FreePort(); err != nil {
				return nil, err
			}
		}
	}

	c := &ClusterAPI{LogDir: logDir, env: env}

	// Render and install every provider's CRDs and webhook configurations.
	installStart := time.Now()
	webhookPorts := make([]int, len(portsOf))
	for i := range portsOf {
		webhookPorts[i] = portsOf[i].webhook
	}
	objs, err := clusterAPIObjects(webhookPorts, caBundle)
	if err != nil {
		return nil, err
	}
	for _, o := range objs {
		if o.GetKind() != "CustomResourceDefinition" {
			c.webhookConfigs = append(c.webhookConfigs, o)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := applyAll(ctx, env.Client, objs); err != nil {
		c.Stop() // removes the webhook configurations applied so far
		return nil, err
	}
	if err := waitEstablished(ctx, env.Client, objs); err != nil {
		c.Stop()
		return nil, err
	}
	c.CRDInstall = time.Since(installStart)

	// Start the managers together (they need each other's webhooks only for objects, not to
	// start) and wait for all of them.
	startManagers := time.Now()
	for i, p := range capiProviders {
		certDir := filepath.Join(logDir, p.name+"-certs")
		if err := os.MkdirAll(certDir, 0o700); err != nil {
			c.Stop()
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(certDir, "tls.crt"), serving.cert, 0o600); err != nil {
			c.Stop()
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(certDir, "tls.key"), serving.key, 0o600); err != nil {
			c.Stop()
			return nil, err
		}
		args := append([]string{
			"--leader-elect=false",
			"--kubeconfig=" + kubeconfig,
			"--webhook-port=" + strconv.Itoa(portsOf[i].webhook),
			"--webhook-cert-dir=" + certDir,
			"--health-addr=127.0.0.1:" + strconv.Itoa(portsOf[i].health),
			"--diagnostics-address=127.0.0.1:" + strconv.Itoa(portsOf[i].diagnostics),
			"--insecure-diagnostics=true",
		}, p.args...)
		proc, err := StartProcess(ProcessSpec{
			Name:      p.name,
			Path:      bins[i],
			Args:      args,
			Env:       append([]string{"KUBECONFIG=" + kubeconfig}, p.env...),
			LogDir:    logDir,
			StopGrace: 15 * time.Second,
		})
		if err != nil {
			c.Stop()
			return nil, err
		}
		c.Managers = append(c.Managers, proc)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca)
	errs := make([]error, len(c.Managers))
	var wg sync.WaitGroup
	for i, proc := range c.Managers {
		wg.Go(func() {
			errs[i] = waitManagerReady(proc, portsOf[i].health, portsOf[i].webhook, roots, 3*time.Minute)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		c.Stop()
		return nil, fmt.Errorf("plane: Cluster API managers (logs in %s): %w", logDir, err)
	}
	// They were started together and waited for together; a restart of one waits alone.
	for i, proc := range c.Managers {
		health, webhook := portsOf[i].health, portsOf[i].webhook
		proc.spec.Ready = func(proc *Process) error {
			return waitManagerReady(proc, health, webhook, roots, 3*time.Minute)
		}
	}
	c.ManagersReady = time.Since(startManagers)
	return c, nil
}

// Stop ends the four managers by process group and removes their webhook configurations, so
// that the APIServer stays usable without them (objects of CAPI kinds can then be written again;
// conversion between API versions is no longer served). It keeps the logs.
func (c *ClusterAPI) Stop() {
	if c == nil {
		return
	}
	c.stopOnce.Do(func() {
		var wg sync.WaitGroup
		for _, p := range c.Managers {
			wg.Go(func() { _ = p.Stop() })
		}
		wg.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, o := range c.webhookConfigs {
			_ = client.IgnoreNotFound(c.env.Client.Delete(ctx, o.DeepCopy()))
		}
	})
}

// PeakRSS reads each running manager's peak resident set size (VmHWM, in bytes) from /proc,
// by manager name; a manager that has ended is left out.
func (c *ClusterAPI) PeakRSS() map[string]int64 {
	out := map[string]int64{}
	for _, p := range c.Managers {
		if p.Exited() {
			continue
		}
		if peak, err := peakRSS(p.PID()); err == nil {
			out[p.Name] = peak
		}
	}
	return out
}

// clusterAPIObjects renders the CRDs and webhook configurations of the four providers, the
// webhooks of provider i sent to https://127.0.0.1:<webhookPorts[i]> with caBundle (base64
// PEM) and the webhook configurations renamed per provider.
func clusterAPIObjects(webhookPorts []int, caBundle string) ([]*unstructured.Unstructured, error) {
	work, err := os.MkdirTemp("", "lkaas-capi-config-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	var objs []*unstructured.Unstructured
	for i, p := range capiProviders {
		url := "https://127.0.0.1:" + strconv.Itoa(webhookPorts[i])
		rendered, err := renderProviderConfig(p, filepath.Join(work, p.name))
		if err != nil {
			return nil, err
		}
		for _, o := range rendered {
			switch o.GetKind() {
			case "CustomResourceDefinition":
				if err := pointConversion(o, url, caBundle); err != nil {
					return nil, fmt.Errorf("plane: %s CRD %s: %w", p.name, o.GetName(), err)
				}
			case "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration":
				o.SetName(p.name + "-" + o.GetName())
				if err := pointWebhooks(o, url, caBundle); err != nil {
					return nil, fmt.Errorf("plane: %s %s: %w", p.name, o.GetName(), err)
				}
			default:
				continue // the webhook Service: the API server calls the URLs above instead
			}
			objs = append(objs, o)
		}
	}
	return objs, nil
}

// renderProviderConfig copies the provider's config/ tree out of the read-only module cache
// into work and builds its crd and webhook kustomizations, as `kubectl kustomize` would.
func renderProviderConfig(p capiProvider, work string) ([]*unstructured.Unstructured, error) {
	modDir, err := ModuleDir(p.module, ClusterAPIVersion)
	if err != nil {
		return nil, err
	}
	config := filepath.Join(work, "config")
	if err := copyTree(filepath.Join(modDir, filepath.FromSlash(p.dir), "config"), config); err != nil {
		return nil, fmt.Errorf("plane: copying %s config: %w", p.name, err)
	}
	var out []*unstructured.Unstructured
	for _, sub := range []string{"crd", "webhook"} {
		objs, err := kustomizeBuild(filepath.Join(config, sub))
		if err != nil {
			return nil, fmt.Errorf("plane: kustomize %s config/%s: %w", p.name, sub, err)
		}
		out = append(out, objs...)
	}
	return out, nil
}

// kustomizeBuild runs kustomize's Go API on a kustomization directory on disk.
func kustomizeBuild(dir string) ([]*unstructured.Unstructured, error) {
	resMap, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, err
	}
	var out []*unstructured.Unstructured
	for _, r := range resMap.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			return nil, err
		}
		// Through JSON, so that numbers are int64 or float64 as unstructured expects.
		j, err := yaml.YAMLToJSON(y)
		if err != nil {
			return nil, err
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(j); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

// copyTree copies regular files and directories (the module cache is read-only; the copy is
// writable, which kustomize does not need but a later edit might).
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}

// pointConversion sends a CRD's conversion webhook, if it has one, to url/<its path>.
func pointConversion(crd *unstructured.Unstructured, url, caBundle string) error {
	strategy, _, _ := unstructured.NestedString(crd.Object, "spec", "conversion", "strategy")
	if strategy != "Webhook" {
		return nil
	}
	path, _, _ := unstructured.NestedString(crd.Object, "spec", "conversion", "webhook", "clientConfig", "service", "path")
	if path == "" {
		path = "/convert"
	}
	return unstructured.SetNestedMap(crd.Object, map[string]any{"url": url + path, "caBundle": caBundle},
		"spec", "conversion", "webhook", "clientConfig")
}

// pointWebhooks sends every webhook of a (mutating or validating) webhook configuration to
// url/<its path>.
func pointWebhooks(cfg *unstructured.Unstructured, url, caBundle string) error {
	hooks, _, err := unstructured.NestedSlice(cfg.Object, "webhooks")
	if err != nil {
		return err
	}
	for i, h := range hooks {
		hook, ok := h.(map[string]any)
		if !ok {
			return fmt.Errorf("webhook %d is not an object", i)
		}
		path, _, _ := unstructured.NestedString(hook, "clientConfig", "service", "path")
		hook["clientConfig"] = map[string]any{"url": url + path, "caBundle": caBundle}
	}
	return unstructured.SetNestedSlice(cfg.Object, hooks, "webhooks")
}

// applyAll applies objects with server-side apply (the CRDs are too big for the
// last-applied annotation of client-side apply), taking over fields another installer set.
func applyAll(ctx context.Context, c client.Client, objs []*unstructured.Unstructured) error {
	for _, o := range objs {
		if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(o), client.FieldOwner("lkaas-plane"), client.ForceOwnership); err != nil {
			return fmt.Errorf("plane: applying %s %s: %w", o.GetKind(), o.GetName(), err)
		}
	}
	return nil
}

// waitEstablished waits until every CRD among objs is established.
func waitEstablished(ctx context.Context, c client.Client, objs []*unstructured.Unstructured) error {
	for _, o := range objs {
		if o.GetKind() != "CustomResourceDefinition" {
			continue
		}
		crd := &unstructured.Unstructured{}
		crd.SetGroupVersionKind(schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"})
		err := waitContext(ctx, time.Minute, func() (bool, error) {
			if err := c.Get(ctx, client.ObjectKey{Name: o.GetName()}, crd); err != nil {
				return false, client.IgnoreNotFound(err)
			}
			conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
			for _, cond := range conds {
				m, _ := cond.(map[string]any)
				if m["type"] == "Established" && m["status"] == "True" {
					return true, nil
				}
			}
			return false, nil
		})
		if err != nil {
			return fmt.Errorf("plane: CRD %s not established: %w", o.GetName(), err)
		}
	}
	return nil
}

// waitManagerReady waits until a manager's /readyz answers OK (CAPI's managers include
// their webhook server in it) and its webhook port serves our certificate.
func waitManagerReady(p *Process, healthPort, webhookPort int, roots *x509.CertPool, timeout time.Duration) error {
	readyz := fmt.Sprintf("http://127.0.0.1:%d/readyz", healthPort)
	if err := waitHTTPOK(p, readyz, timeout); err != nil {
		return err
	}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp",
		"127.0.0.1:"+strconv.Itoa(webhookPort), &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12})
	if err != nil {
		return fmt.Errorf("%s webhook server on port %d: %w", p.Name, webhookPort, err)
	}
	return conn.Close()
}

type keyPair struct{ cert, key []byte }

// webhookCerts makes a CA (returned as PEM) and a serving certificate it signs for 127.0.0.1
// and localhost, which every manager's webhook server uses.
func webhookCerts() (ca []byte, serving keyPair, err error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, keyPair{}, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "lkaas-plane-webhook-ca"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(7 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, keyPair{}, err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, keyPair{}, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, keyPair{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(7 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return nil, keyPair{}, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, keyPair{}, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		keyPair{
			cert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
			key:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
		}, nil
}
