// Package source gets a Flux source's artifact onto disk: it finds the source a Fleet names
// (refusing cross-namespace references unless allowed), then downloads the artifact, verifies
// its digest and unpacks it safely. It does not parse what it unpacks.
package source

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/http/fetch"
	"github.com/fluxcd/pkg/tar"
)

// Default limits of one artifact; a fleet repository of a thousand clusters is a few MiB.
const (
	DefaultMaxDownloadSize = 50 << 20
	DefaultMaxUntarSize    = 100 << 20
	DefaultRetries         = 5
)

// ErrArtifactNotFound means the source's storage no longer serves the artifact, usually
// because a newer revision replaced it: look the source up again and retry.
var ErrArtifactNotFound = errors.New("artifact not found in the source's storage")

// FetcherOptions bound what a fetch may cost.
type FetcherOptions struct {
	// MaxDownloadSize of the compressed artifact, in bytes.
	MaxDownloadSize int
	// MaxUntarSize of the unpacked files, in bytes.
	MaxUntarSize int
	// Retries on 5xx answers and connection errors.
	Retries int
	// HostnameOverwrite replaces the artifact URL's host, for a controller that reaches
	// source-controller by another name than the one in status.artifact.url.
	HostnameOverwrite string
}

// Fetcher downloads and unpacks artifacts.
type Fetcher struct {
	archive *fetch.ArchiveFetcher
}

// NewFetcher returns a Fetcher; zero options take the defaults.
func NewFetcher(o FetcherOptions) *Fetcher {
	if o.MaxDownloadSize == 0 {
		o.MaxDownloadSize = DefaultMaxDownloadSize
	}
	if o.MaxUntarSize == 0 {
		o.MaxUntarSize = DefaultMaxUntarSize
	}
	if o.Retries == 0 {
		o.Retries = DefaultRetries
	}
	// fetch verifies the digest before unpacking, and its untar refuses entries that leave the
	// directory and skips symbolic links, so nothing in the tarball can point outside dir.
	return &Fetcher{archive: fetch.New(
		fetch.WithRetries(o.Retries),
		fetch.WithMaxDownloadSize(o.MaxDownloadSize),
		fetch.WithUntar(tar.WithMaxUntarSize(o.MaxUntarSize)),
		fetch.WithHostnameOverwrite(o.HostnameOverwrite),
	)}
}

// Fetch downloads the artifact, verifies its digest and unpacks it into dir, which must exist
// and be empty.
func (f *Fetcher) Fetch(ctx context.Context, artifact *meta.Artifact, dir string) error {
	if artifact == nil {
		return errors.New("the source has no artifact yet")
	}
	if artifact.Digest == "" {
		return fmt.Errorf("artifact %s has no digest", artifact.Revision)
	}
	if entries, err := os.ReadDir(dir); err != nil {
		return err
	} else if len(entries) > 0 {
		return fmt.Errorf("fetching into %s: directory is not empty", dir)
	}
	err := f.archive.FetchWithContext(ctx, artifact.URL, artifact.Digest, dir)
	if errors.Is(err, fetch.ErrFileNotFound) {
		return fmt.Errorf("revision %s: %w", artifact.Revision, ErrArtifactNotFound)
	}
	if err != nil {
		return fmt.Errorf("revision %s: %w", artifact.Revision, err)
	}
	return nil
}
