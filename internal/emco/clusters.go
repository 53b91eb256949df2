package emco

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"mime/multipart"
	"net/http"
	"reflect"
)

// GetClusterProvider reads a cluster provider (404 when absent).
func (c *Client) GetClusterProvider(ctx context.Context, name string) (*ClusterProvider, error) {
	var out ClusterProvider
	if err := c.getJSON(ctx, CLM, p("cluster-providers", name), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// EnsureClusterProvider makes the provider exist with the given metadata. clm's
// PUT is an upsert, used only when the metadata differs.
func (c *Client) EnsureClusterProvider(ctx context.Context, provider ClusterProvider) (Change, error) {
	name := provider.Metadata.Name
	current, err := c.GetClusterProvider(ctx, name)
	switch {
	case IsNotFound(err):
		return created(c.sendJSON(ctx, CLM, http.MethodPost, p("cluster-providers"), provider, nil))
	case err != nil:
		return Unchanged, err
	case current.Metadata == provider.Metadata:
		return Unchanged, nil
	}
	return Updated, c.sendJSON(ctx, CLM, http.MethodPut, p("cluster-providers", name), provider, nil)
}

// DeleteClusterProvider deletes a provider; clm refuses (409) while it still has
// clusters. A missing provider is not an error.
func (c *Client) DeleteClusterProvider(ctx context.Context, name string) error {
	return ignoreNotFound(c.delete(ctx, CLM, p("cluster-providers", name)))
}

// ListClusters lists a provider's clusters.
func (c *Client) ListClusters(ctx context.Context, provider string) ([]Cluster, error) {
	var out []Cluster
	return out, c.getJSON(ctx, CLM, p("cluster-providers", provider, "clusters"), nil, &out)
}

// GetCluster reads a cluster's JSON (always with Accept: application/json;
// clm answers 406 without an Accept header and 300 for */*).
func (c *Client) GetCluster(ctx context.Context, provider, name string) (*Cluster, error) {
	var out Cluster
	if err := c.getJSON(ctx, CLM, p("cluster-providers", provider, "clusters", name), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetClusterKubeconfig reads the kubeconfig clm stores for a cluster. The bytes
// are secret: callers must not log them.
func (c *Client) GetClusterKubeconfig(ctx context.Context, provider, name string) ([]byte, error) {
	path := p("cluster-providers", provider, "clusters", name)
	resp, err := c.do(ctx, request{service: CLM, method: http.MethodGet, path: path, accept: "application/octet-stream"})
	if err != nil {
		return nil, err
	}
	// GitOps clusters answer JSON whatever the Accept header says.
	if mediaType, _, _ := mime.ParseMediaType(resp.header.Get("Content-Type")); mediaType == "application/json" {
		return nil, fmt.Errorf("%w: %s/%s", ErrGitOpsCluster, provider, name)
	}
	return resp.body, nil
}

// CreateCluster registers a cluster with its kubeconfig: multipart form with a
// "metadata" value (the Cluster JSON) and a "file" part holding the raw
// kubeconfig (clm base64-encodes it itself).
func (c *Client) CreateCluster(ctx context.Context, provider string, cluster Cluster, kubeconfig []byte) error {
	meta, err := json.Marshal(cluster)
	if err != nil {
		return fmt.Errorf("emco: encoding cluster %s: %w", cluster.Metadata.Name, err)
	}
	var body bytes.Buffer
	form := multipart.NewWriter(&body)
	if err := form.WriteField("metadata", string(meta)); err != nil {
		return err
	}
	if cluster.Spec.GitOps.GitOpsType == "" {
		file, err := form.CreateFormFile("file", "kubeconfig")
		if err != nil {
			return err
		}
		if _, err := file.Write(kubeconfig); err != nil {
			return err
		}
	}
	if err := form.Close(); err != nil {
		return err
	}
	_, err = c.do(ctx, request{
		service: CLM, method: http.MethodPost, path: p("cluster-providers", provider, "clusters"),
		accept: "application/json", contentType: form.FormDataContentType(), body: body.Bytes(),
		secrets: redactor{kubeconfig},
	})
	return err
}

// ClusterRegistration is what clm should hold for one kubeconfig cluster.
type ClusterRegistration struct {
	Provider   string
	Cluster    Metadata
	Kubeconfig []byte
	// Project whose logical clouds may reference the cluster. A kubeconfig change
	// must lift those references before clm lets the cluster go (contract §2.3).
	Project string
}

// EnsureCluster registers the cluster, or, when clm holds a different
// kubeconfig, replaces it with ReplaceClusterKubeconfig (clm has no PUT). A
// changed description alone is not converged: it would cost a re-registration.
func (c *Client) EnsureCluster(ctx context.Context, reg ClusterRegistration) (Change, error) {
	stored, err := c.GetClusterKubeconfig(ctx, reg.Provider, reg.Cluster.Name)
	if IsNotFound(err) {
		err = c.CreateCluster(ctx, reg.Provider, Cluster{Metadata: reg.Cluster}, reg.Kubeconfig)
		if !IsConflict(err) {
			return changeIf(err, Created)
		}
		// Another writer registered it meanwhile: compare with what it stored.
		stored, err = c.GetClusterKubeconfig(ctx, reg.Provider, reg.Cluster.Name)
	}
	if err != nil {
		return Unchanged, err
	}
	if bytes.Equal(stored, reg.Kubeconfig) {
		return Unchanged, nil
	}
	if _, err := c.ReplaceClusterKubeconfig(ctx, reg); err != nil {
		return Unchanged, err
	}
	return Replaced, nil
}

// DeleteCluster deregisters a cluster in the order clm demands: its labels and
// kv-pairs (children) first, then the cluster. References from logical clouds
// must be gone already (clm answers 409 otherwise). A missing cluster is not an error.
func (c *Client) DeleteCluster(ctx context.Context, provider, name string) error {
	labels, err := c.ListClusterLabels(ctx, provider, name)
	if IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, l := range labels {
		if err := c.DeleteClusterLabel(ctx, provider, name, l); err != nil {
			return err
		}
	}
	kvs, err := c.ListClusterKvPairs(ctx, provider, name)
	if err != nil {
		return ignoreNotFound(err)
	}
	for _, kv := range kvs {
		if err := c.DeleteClusterKvPair(ctx, provider, name, kv.Metadata.Name); err != nil {
			return err
		}
	}
	return ignoreNotFound(c.delete(ctx, CLM, p("cluster-providers", provider, "clusters", name)))
}

// ListClusterKvPairs lists a cluster's kv-pair sets.
func (c *Client) ListClusterKvPairs(ctx context.Context, provider, cluster string) ([]ClusterKvPair, error) {
	var out []ClusterKvPair
	return out, c.getJSON(ctx, CLM, p("cluster-providers", provider, "clusters", cluster, "kv-pairs"), nil, &out)
}

// GetClusterKvPair reads one kv-pair set.
func (c *Client) GetClusterKvPair(ctx context.Context, provider, cluster, name string) (*ClusterKvPair, error) {
	var out ClusterKvPair
	if err := c.getJSON(ctx, CLM, p("cluster-providers", provider, "clusters", cluster, "kv-pairs", name), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateClusterKvPair adds a kv-pair set (409 when it exists).
func (c *Client) CreateClusterKvPair(ctx context.Context, provider, cluster string, kv ClusterKvPair) error {
	return c.sendJSON(ctx, CLM, http.MethodPost, p("cluster-providers", provider, "clusters", cluster, "kv-pairs"), kv, nil)
}

// DeleteClusterKvPair removes a kv-pair set; a missing one is not an error.
func (c *Client) DeleteClusterKvPair(ctx context.Context, provider, cluster, name string) error {
	return ignoreNotFound(c.delete(ctx, CLM, p("cluster-providers", provider, "clusters", cluster, "kv-pairs", name)))
}

// EnsureClusterKvPair makes one kv-pair set hold exactly kv (PUT replaces it).
func (c *Client) EnsureClusterKvPair(ctx context.Context, provider, cluster string, kv ClusterKvPair) (Change, error) {
	current, err := c.GetClusterKvPair(ctx, provider, cluster, kv.Metadata.Name)
	switch {
	case IsNotFound(err):
		return created(c.CreateClusterKvPair(ctx, provider, cluster, kv))
	case err != nil:
		return Unchanged, err
	case current.Metadata == kv.Metadata && sameKV(current.Spec.KV, kv.Spec.KV):
		return Unchanged, nil
	}
	path := p("cluster-providers", provider, "clusters", cluster, "kv-pairs", kv.Metadata.Name)
	return Updated, c.sendJSON(ctx, CLM, http.MethodPut, path, kv, nil)
}

// sameKV compares through JSON so that numbers decoded as float64 equal ints given by callers.
func sameKV(a, b []map[string]any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	if errA != nil || errB != nil {
		return reflect.DeepEqual(a, b)
	}
	var na, nb any
	_ = json.Unmarshal(ja, &na)
	_ = json.Unmarshal(jb, &nb)
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return reflect.DeepEqual(na, nb)
}

func ignoreNotFound(err error) error {
	if IsNotFound(err) {
		return nil
	}
	return err
}

func changeIf(err error, change Change) (Change, error) {
	if err != nil {
		return Unchanged, err
	}
	return change, nil
}
