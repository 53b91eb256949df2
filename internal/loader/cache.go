package loader

import (
	"crypto/sha256"
	"os"
	"sort"
)

// Cache loads the trees of successive revisions, parsing again only the files whose content
// changed: each file's documents are kept by path and content hash, and only the checks that
// span files (one declaration per object) run over the whole tree each time. The result is
// the same as Load's. The objects of a returned Set are shared with later loads: read them,
// never change them. Not safe for concurrent use.
type Cache struct {
	opts  Options
	files map[string]*fileDocs
	// Parsed counts the files parsed by the last load (the others came from the cache).
	Parsed int
}

// fileDocs is what one file's content loads to, before the checks across files.
type fileDocs struct {
	sum  [sha256.Size]byte
	docs []heldDoc
	errs ErrorList
}

// NewCache returns an empty cache for trees loaded with opts.
func NewCache(opts Options) *Cache {
	return &Cache{opts: opts, files: map[string]*fileDocs{}}
}

// Load is loader.Load through the cache.
func (c *Cache) Load(files map[string][]byte) (*Set, error) {
	names := make([]string, 0, len(files))
	for name := range files {
		if isFleetFile(name) {
			names = append(names, name)
		}
	}
	sort.Strings(names)

	c.Parsed = 0
	kept := make(map[string]*fileDocs, len(names))
	l := newLoading(c.opts)
	for _, name := range names {
		sum := sha256.Sum256(files[name])
		f := c.files[name]
		if f == nil || f.sum != sum {
			f = c.parse(name, files[name], sum)
			c.Parsed++
		}
		kept[name] = f
		l.errs = append(l.errs, f.errs...)
		for _, h := range f.docs {
			l.keep(&docErrors{errs: &l.errs, kind: h.kind, name: h.name, origin: h.origin}, h.key, h.obj)
		}
	}
	c.files = kept // a file gone from the tree is forgotten
	return l.result()
}

// LoadDir is loader.LoadDir through the cache.
func (c *Cache) LoadDir(root string) (*Set, error) {
	info, err := os.Stat(root)
	if err != nil || !info.IsDir() {
		return LoadDir(root, c.opts)
	}
	dir, err := os.OpenRoot(root)
	if err != nil {
		return LoadDir(root, c.opts)
	}
	defer dir.Close()
	return loadFS(dir.FS(), c.Load)
}

// parse loads one file on its own: its documents and the problems found in them.
func (c *Cache) parse(name string, data []byte, sum [sha256.Size]byte) *fileDocs {
	f := &fileDocs{sum: sum}
	l := newLoading(c.opts)
	l.hold = func(h heldDoc) { f.docs = append(f.docs, h) }
	l.file(name, data)
	f.errs = l.errs
	return f
}
