package repofiles

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/dcn-ssu/lkaas/internal/loader"
)

// indexKey holds the JSON map from repository path to data key: ConfigMap keys may not hold
// "/", so each file is stored under a key derived from its path.
const indexKey = "index.json"

// Referenced lists the repository files the set's profiles name: template paths and the
// `manifests` of network and software profiles, sorted and without duplicates.
func Referenced(set *loader.Set) []string {
	seen := map[string]bool{}
	for _, d := range set.Profiles {
		spec := d.Object.Spec
		if spec.Template != nil && spec.Template.Path != "" {
			seen[path.Clean(spec.Template.Path)] = true
		}
		if spec.Values == nil {
			continue
		}
		var values map[string]any
		if json.Unmarshal(spec.Values.Raw, &values) != nil {
			continue
		}
		if list, ok := values["manifests"].([]any); ok {
			for _, m := range list {
				if p, ok := m.(string); ok && p != "" {
					seen[path.Clean(p)] = true
				}
			}
		}
	}
	out := make([]string, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// Read reads the named files from the repository root. A path that leaves the root or does not
// exist is an error; the loader and the renderer report those with positions, so here it only
// guards.
func Read(root string, paths []string) (map[string][]byte, error) {
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	files := make(map[string][]byte, len(paths))
	for _, p := range paths {
		b, err := fs.ReadFile(r.FS(), p)
		if err != nil {
			return nil, fmt.Errorf("repository file %s: %w", p, err)
		}
		files[p] = b
	}
	return files, nil
}

// ConfigMap holds files for the Fleet.
func ConfigMap(fleet types.NamespacedName, files map[string][]byte) (*corev1.ConfigMap, error) {
	index := make(map[string]string, len(files))
	cm := &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Namespace: fleet.Namespace, Name: ConfigMapName(fleet.Name), Labels: map[string]string{FilesLabel: "true"}},
		Data:       map[string]string{},
	}
	for p, b := range files {
		sum := sha256.Sum256([]byte(p))
		key := "f-" + hex.EncodeToString(sum[:8])
		index[p] = key
		cm.Data[key] = string(b)
	}
	idx, err := json.Marshal(index)
	if err != nil {
		return nil, err
	}
	cm.Data[indexKey] = string(idx)
	return cm, nil
}

// FS reads a files ConfigMap as a file system of repository paths.
func FS(cm *corev1.ConfigMap) (fs.FS, error) {
	var index map[string]string
	if err := json.Unmarshal([]byte(cm.Data[indexKey]), &index); err != nil {
		return nil, fmt.Errorf("ConfigMap %s/%s: %s: %w", cm.Namespace, cm.Name, indexKey, err)
	}
	files := make(memFS, len(index))
	for p, key := range index {
		data, ok := cm.Data[key]
		if !ok {
			return nil, fmt.Errorf("ConfigMap %s/%s: no data for %s", cm.Namespace, cm.Name, p)
		}
		files[path.Clean(filepath.ToSlash(p))] = []byte(data)
	}
	return files, nil
}

// Union reads a file from the first layer that has it.
func Union(layers ...fs.FS) fs.FS { return union(layers) }

type union []fs.FS

func (u union) Open(name string) (fs.File, error) {
	for _, l := range u {
		f, err := l.Open(name)
		if err == nil {
			return f, nil
		}
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

// memFS is a read-only file system of whole files; directories are not listed.
type memFS map[string][]byte

func (m memFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	data, ok := m[name]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return &memFile{name: name, r: strings.NewReader(string(data)), size: int64(len(data))}, nil
}

type memFile struct {
	name string
	r    *strings.Reader
	size int64
}

func (f *memFile) Read(p []byte) (int, error) { return f.r.Read(p) }
func (f *memFile) Close() error               { return nil }
func (f *memFile) Stat() (fs.FileInfo, error) { return fileInfo{f}, nil }

type fileInfo struct{ f *memFile }

func (i fileInfo) Name() string       { return path.Base(i.f.name) }
func (i fileInfo) Size() int64        { return i.f.size }
func (i fileInfo) Mode() fs.FileMode  { return 0o444 }
func (i fileInfo) ModTime() time.Time { return time.Time{} }
func (i fileInfo) IsDir() bool        { return false }
func (i fileInfo) Sys() any           { return nil }
