package plane

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
)

// Versions of the upstream projects whose CRDs tests install. They match the API modules that
// go.mod pins (a test keeps them in step), and the CRDs come from those modules' zips in the
// Go module cache, never from copies in this repository.
const (
	FluxSourceControllerModule  = "github.com/fluxcd/source-controller"
	FluxSourceControllerVersion = "v1.9.6"
	ClusterAPIModule            = "sigs.k8s.io/cluster-api"
	ClusterAPIVersion           = "v1.14.2"
	// ClusterAPITestModule holds CAPD (the docker provider with its in-memory backend).
	ClusterAPITestModule = "sigs.k8s.io/cluster-api/test"
	// HelmAddonModule is cluster-api-addon-provider-helm (HelmChartProxy).
	HelmAddonModule  = "sigs.k8s.io/cluster-api-addon-provider-helm"
	HelmAddonVersion = "v0.6.4"
)

// ModuleDir downloads a module version into the Go module cache (a no-op when it is there)
// and returns its directory.
func ModuleDir(module, version string) (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", module+"@"+version)
	out, err := cmd.Output()
	var info struct {
		Dir   string
		Error string
	}
	if jerr := json.Unmarshal(out, &info); jerr == nil && info.Error != "" {
		return "", fmt.Errorf("plane: go mod download %s@%s: %s", module, version, info.Error)
	}
	if err != nil {
		return "", fmt.Errorf("plane: go mod download %s@%s: %w", module, version, err)
	}
	if info.Dir == "" {
		return "", fmt.Errorf("plane: go mod download %s@%s gave no directory", module, version)
	}
	return info.Dir, nil
}

// FluxSourceCRDDir holds the CRDs of Flux source-controller (GitRepository, OCIRepository,
// Bucket, HelmRepository, HelmChart, ExternalArtifact).
func FluxSourceCRDDir() (string, error) {
	dir, err := ModuleDir(FluxSourceControllerModule, FluxSourceControllerVersion)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "config", "crd", "bases"), nil
}

// ClusterAPICRDDirs hold the CRDs of CAPI core, the kubeadm bootstrap provider and the kubeadm
// control-plane provider, as their bases (no conversion webhooks: v1beta2 objects only).
func ClusterAPICRDDirs() ([]string, error) {
	dir, err := ModuleDir(ClusterAPIModule, ClusterAPIVersion)
	if err != nil {
		return nil, err
	}
	return []string{
		filepath.Join(dir, "core", "config", "crd", "bases"),
		filepath.Join(dir, "bootstrap", "kubeadm", "config", "crd", "bases"),
		filepath.Join(dir, "controlplane", "kubeadm", "config", "crd", "bases"),
	}, nil
}

// LKaaSCRDDir holds this repository's generated CRDs.
func LKaaSCRDDir() (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "charts", "lkaas", "crds"), nil
}

// CAPDCRDDir holds the CRDs of CAPD (DockerCluster, DevCluster, DevMachineTemplate, …).
func CAPDCRDDir() (string, error) {
	dir, err := ModuleDir(ClusterAPITestModule, ClusterAPIVersion)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "infrastructure", "docker", "config", "crd", "bases"), nil
}

// HelmAddonCRDDir holds the CRDs of cluster-api-addon-provider-helm (HelmChartProxy, …).
func HelmAddonCRDDir() (string, error) {
	dir, err := ModuleDir(HelmAddonModule, HelmAddonVersion)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "config", "crd", "bases"), nil
}
