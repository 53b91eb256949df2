package render

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// TemplateFetcher gets the bytes of a `url` template. digest ("sha256:<hex>") is empty when
// the profile pins none; the Renderer verifies it again whatever the fetcher does.
type TemplateFetcher interface {
	Fetch(ctx context.Context, url, digest string) ([]byte, error)
}

// DefaultMaxTemplateBytes bounds a fetched template; cluster templates are a few KiB.
const DefaultMaxTemplateBytes = 4 << 20

// HTTPFetcher fetches templates over HTTP(S) and keeps them in CacheDir, keyed by URL and
// digest, so a template is downloaded once per machine. Release assets are immutable per
// version, which is what makes caching an unpinned URL acceptable.
type HTTPFetcher struct {
	// Client is used for requests; nil means http.DefaultClient.
	Client *http.Client
	// CacheDir keeps fetched templates; empty disables the disk cache (memory only).
	CacheDir string
	// MaxBytes bounds a response; 0 means DefaultMaxTemplateBytes.
	MaxBytes int64

	mu     sync.Mutex
	memory map[string][]byte
}

// NewHTTPFetcher returns a fetcher caching into cacheDir with the given client (nil: default).
func NewHTTPFetcher(cacheDir string, client *http.Client) *HTTPFetcher {
	return &HTTPFetcher{Client: client, CacheDir: cacheDir}
}

// Fetch returns the template at url, from the cache when it holds it.
func (f *HTTPFetcher) Fetch(ctx context.Context, url, digest string) ([]byte, error) {
	key := cacheKey(url, digest)

	f.mu.Lock()
	defer f.mu.Unlock() // one fetch at a time: concurrent renders of one URL download once
	if b, ok := f.memory[key]; ok {
		return b, nil
	}
	if b, ok := f.readCache(key, digest); ok {
		f.remember(key, b)
		return b, nil
	}

	b, err := f.download(ctx, url)
	if err != nil {
		return nil, err
	}
	if err := verifyDigest(url, digest, b); err != nil {
		return nil, err
	}
	if err := f.writeCache(key, b); err != nil {
		return nil, err
	}
	f.remember(key, b)
	return b, nil
}

func (f *HTTPFetcher) download(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", url, err)
	}
	client := f.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("template %s: HTTP %s", url, resp.Status)
	}
	limit := f.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxTemplateBytes
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", url, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("template %s: larger than the limit of %d bytes", url, limit)
	}
	return b, nil
}

func (f *HTTPFetcher) remember(key string, b []byte) {
	if f.memory == nil {
		f.memory = map[string][]byte{}
	}
	f.memory[key] = b
}

// readCache trusts a cached file only if it still matches the pinned digest.
func (f *HTTPFetcher) readCache(key, digest string) ([]byte, bool) {
	if f.CacheDir == "" {
		return nil, false
	}
	b, err := os.ReadFile(filepath.Join(f.CacheDir, key))
	if err != nil || verifyDigest("", digest, b) != nil {
		return nil, false
	}
	return b, true
}

// writeCache writes through a temporary file so a reader never sees half a template.
func (f *HTTPFetcher) writeCache(key string, b []byte) error {
	if f.CacheDir == "" {
		return nil
	}
	if err := os.MkdirAll(f.CacheDir, 0o755); err != nil {
		return fmt.Errorf("template cache: %w", err)
	}
	tmp, err := os.CreateTemp(f.CacheDir, key+".tmp-*")
	if err != nil {
		return fmt.Errorf("template cache: %w", err)
	}
	_, werr := tmp.Write(b)
	cerr := tmp.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), filepath.Join(f.CacheDir, key))
	}
	if werr != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("template cache: %w", werr)
	}
	return nil
}

// cacheKey names a cache entry after the URL and the digest it was pinned to.
func cacheKey(url, digest string) string {
	sum := sha256.Sum256([]byte(url + "\n" + digest))
	return hex.EncodeToString(sum[:])
}

// contentDigest is the "sha256:<hex>" of b.
func contentDigest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// verifyDigest checks b against a pinned digest; an empty digest pins nothing.
func verifyDigest(what, digest string, b []byte) error {
	if digest == "" {
		return nil
	}
	if got := contentDigest(b); !strings.EqualFold(got, digest) {
		return fmt.Errorf("template %s: digest mismatch: the profile pins %s, the content is %s", what, digest, got)
	}
	return nil
}
