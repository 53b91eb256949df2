package loader

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// LoadDir reads the fleet tree under root (an unpacked Flux artifact or a checkout). Hidden
// directories such as .git are skipped; symbolic links may not lead out of root. root may
// also name a single file.
func LoadDir(root string, opts Options) (*Set, error) {
	info, err := os.Stat(root)
	if err != nil {
		return nil, ErrorList{{Pos: Position{File: filepath.ToSlash(root)}, Message: err.Error()}}
	}
	if !info.IsDir() {
		data, err := os.ReadFile(root)
		if err != nil {
			return nil, ErrorList{{Pos: Position{File: filepath.ToSlash(root)}, Message: err.Error()}}
		}
		return Load(map[string][]byte{filepath.Base(root): data}, opts)
	}
	dir, err := os.OpenRoot(root)
	if err != nil {
		return nil, ErrorList{{Pos: Position{File: filepath.ToSlash(root)}, Message: err.Error()}}
	}
	defer dir.Close()
	return LoadFS(dir.FS(), opts)
}

// LoadFS reads a fleet tree from a file system, e.g. an os.Root's (which keeps symbolic links
// inside the tree) or an fstest.MapFS.
func LoadFS(fsys fs.FS, opts Options) (*Set, error) {
	return loadFS(fsys, func(files map[string][]byte) (*Set, error) { return Load(files, opts) })
}

// loadFS reads the fleet files of fsys and loads them with load, adding read errors.
func loadFS(fsys fs.FS, load func(map[string][]byte) (*Set, error)) (*Set, error) {
	files := map[string][]byte{}
	var readErrs ErrorList
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			readErrs = append(readErrs, &Error{Pos: Position{File: name}, Message: "cannot read: " + err.Error()})
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if name != "." && hidden(d.Name()) {
				return fs.SkipDir
			}
			return nil
		}
		if !isFleetFile(name) {
			return nil
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			readErrs = append(readErrs, &Error{Pos: Position{File: name}, Message: "cannot read: " + unwrapPathError(err)})
			return nil
		}
		files[name] = data
		return nil
	})
	if err != nil {
		readErrs = append(readErrs, &Error{Pos: Position{File: "."}, Message: err.Error()})
	}
	set, loadErr := load(files)
	if len(readErrs) == 0 {
		return set, loadErr
	}
	var all ErrorList
	if list, ok := loadErr.(ErrorList); ok {
		all = list
	}
	all = append(all, readErrs...)
	all.Sort()
	return nil, all
}

// isFleetFile tells whether a slash-separated path is a YAML file the loader reads: *.yaml or
// *.yml, not hidden and not inside a hidden directory.
func isFleetFile(name string) bool {
	ext := path.Ext(name)
	if ext != ".yaml" && ext != ".yml" {
		return false
	}
	for _, part := range strings.Split(name, "/") {
		if hidden(part) {
			return false
		}
	}
	return true
}

func hidden(name string) bool {
	return strings.HasPrefix(name, ".") && name != "." && name != ".."
}

func unwrapPathError(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
