// Package repofiles carries the files of a fleet repository that profiles name (cluster
// templates, add-on manifests) from the Fleet controller, which has the Flux artifact, to the
// Cluster controller, which renders from API objects: one ConfigMap per Fleet, in the Fleet's
// namespace, named "<fleet>-files" and labelled automation.dcn.ssu.ac.kr/fleet-files.
package repofiles

import (
	"fmt"
	"io/fs"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
)

// FilesLabel marks a Fleet's files ConfigMap.
const FilesLabel = automationv1alpha1.LabelPrefix + "fleet-files"

// ConfigMapName is the name of a Fleet's files ConfigMap.
func ConfigMapName(fleet string) string { return fleet + "-files" }

// FSForNamespaces returns the files the renderer may read for a cluster: those of the files
// ConfigMaps in the shared profile namespaces first (in order), then the cluster's own
// namespace. A shared namespace's file wins over a tenant's of the same path, so a tenant
// cannot replace an administrator's template by shadowing its path.
func FSForNamespaces(list func(namespace string) ([]corev1.ConfigMap, error), shared []string, own string) (fs.FS, error) {
	var layers []fs.FS
	for _, ns := range append(append([]string{}, shared...), own) {
		cms, err := list(ns)
		if err != nil {
			return nil, fmt.Errorf("files of namespace %s: %w", ns, err)
		}
		for i := range cms {
			f, err := FS(&cms[i])
			if err != nil {
				return nil, err
			}
			layers = append(layers, f)
		}
	}
	return Union(layers...), nil
}

// ListOptions select the files ConfigMaps of a namespace.
func ListOptions(namespace string) []client.ListOption {
	return []client.ListOption{client.InNamespace(namespace), client.HasLabels{FilesLabel}}
}
