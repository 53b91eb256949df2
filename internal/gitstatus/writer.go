package gitstatus

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fluxcd/pkg/git"
	"github.com/fluxcd/pkg/git/signature"
	extgogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Author of status commits.
type Author struct {
	Name  string
	Email string
}

// DefaultAuthor signs status commits when the Fleet names no author.
var DefaultAuthor = Author{Name: "L-KaaS", Email: "lkaas@noreply.dcn.ssu.ac.kr"}

// Target is the repository branch a Fleet's status goes to.
type Target struct {
	URL string
	// Branch receives the status commits; it is created when missing.
	Branch string
	// BaseBranch is where a missing Branch starts (the branch the Fleet watches); an empty
	// repository gets Branch as its first branch.
	BaseBranch string
	// Credentials are the Secret's data in the keys Flux uses (username and password,
	// bearerToken, identity and known_hosts, ca.crt). Never logged, never written.
	Credentials map[string][]byte
	Author      Author
	// Signer signs each commit; nil leaves them unsigned.
	Signer signature.Signer
	// CredentialsOverHTTP allows credentials on a plain-HTTP URL (a local Git server).
	CredentialsOverHTTP bool
}

// Update computes a status commit on top of the branch as it is now: tree holds the files
// under the status directory (slash paths, as in the repository). It returns the files to
// write (a nil value deletes the file) and the commit message; no files means nothing to
// commit. It is called again, on the new head, when a push loses a race.
type Update func(tree map[string][]byte) (changes map[string][]byte, message string, err error)

// Result of a write.
type Result struct {
	// Commit is the status commit pushed; empty when there was nothing to commit.
	Commit string
	// Attempts counts fetch-commit-push rounds (more than one when a push lost a race).
	Attempts int
}

// Writer commits status to Git and pushes it, never by force: when someone else pushed
// first, it starts again from their head, so no commit of either side is lost.
//
// It keeps a bare clone per status branch between passes and brings it up to date by
// fetching only what is new, so a pass costs what changed, not the branch's history.
type Writer struct {
	// MaxAttempts bounds rounds against concurrent pushes; default 6.
	MaxAttempts int
	// Backoff is the wait before the second round, doubled (with jitter) after that;
	// default 200ms.
	Backoff time.Duration
	// TempDir holds the clones kept between passes; default os.TempDir().
	TempDir string
	// MaxClones bounds the clones kept (one per status branch); the least recently used
	// goes first. Default 16.
	MaxClones int
	// MaxPasses is how many passes a clone serves before it is cloned afresh, which sheds
	// the loose objects and small packs each pass adds. Default 500.
	MaxPasses int

	mu     sync.Mutex
	clones map[string]*clone

	// logs keeps each status branch's newest commits, refreshed on every fetch and push,
	// for readers that must not wait for a pass or the network (the status page).
	logMu sync.RWMutex
	logs  map[string]*branchLog
}

// ErrPushRace is returned when every attempt lost a race with other pushers.
var ErrPushRace = errors.New("status push kept losing races with other pushes")

// Write fetches t.Branch, lets update decide the status files, commits them and pushes.
func (w *Writer) Write(ctx context.Context, t Target, dir string, update Update) (Result, error) {
	attempts := w.MaxAttempts
	if attempts <= 0 {
		attempts = 6
	}
	backoff := w.Backoff
	if backoff <= 0 {
		backoff = 200 * time.Millisecond
	}
	r, err := remoteOf(t)
	if err != nil {
		return Result{Attempts: 1}, err
	}
	key, c := w.clone(t)
	defer func() {
		w.mu.Lock()
		if w.clones[key] != c {
			c.discard() // evicted while this pass waited for it
		}
		w.mu.Unlock()
		c.mu.Unlock()
	}()
	for i := 1; ; i++ {
		commit, raced, err := w.round(ctx, c, r, t, dir, update)
		if err == nil && !raced {
			return Result{Commit: commit, Attempts: i}, nil
		}
		if err != nil && !raced {
			c.discard() // it may be half written; the next pass clones afresh
			return Result{Attempts: i}, err
		}
		if i == attempts {
			return Result{Attempts: i}, fmt.Errorf("%w (%d attempts): %v", ErrPushRace, i, err)
		}
		wait := backoff<<(i-1) + rand.N(backoff)
		select {
		case <-ctx.Done():
			return Result{Attempts: i}, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// Close removes the clones kept between passes.
func (w *Writer) Close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for key, c := range w.clones {
		c.mu.Lock()
		c.discard()
		c.mu.Unlock()
		delete(w.clones, key)
	}
}

// clone returns the kept clone of t's branch and its key, locked: one pass at a time per
// branch.
func (w *Writer) clone(t Target) (string, *clone) {
	key := t.URL + "\x00" + t.Branch + "\x00" + t.BaseBranch
	w.mu.Lock()
	if w.clones == nil {
		w.clones = map[string]*clone{}
	}
	c, ok := w.clones[key]
	if !ok {
		c = &clone{}
		w.clones[key] = c
		w.evict(key)
	}
	c.used = time.Now()
	w.mu.Unlock()
	c.mu.Lock()
	return key, c
}

// evict drops the least recently used idle clones beyond MaxClones; w.mu is held.
func (w *Writer) evict(keep string) {
	limit := w.MaxClones
	if limit <= 0 {
		limit = 16
	}
	for len(w.clones) > limit {
		oldest := ""
		for key, c := range w.clones {
			if key != keep && (oldest == "" || c.used.Before(w.clones[oldest].used)) {
				oldest = key
			}
		}
		if oldest == "" {
			return
		}
		c := w.clones[oldest]
		if !c.mu.TryLock() {
			return // in use; it goes next time
		}
		c.discard()
		c.mu.Unlock()
		delete(w.clones, oldest)
	}
}

// round is one fetch, update, commit and push. raced reports a push that lost to another.
func (w *Writer) round(ctx context.Context, c *clone, r *remote, t Target, dir string, update Update) (commit string, raced bool, err error) {
	maxPasses := w.MaxPasses
	if maxPasses <= 0 {
		maxPasses = 500
	}
	if c.passes >= maxPasses {
		c.discard()
	}
	if err := c.open(w.TempDir, t.URL); err != nil {
		return "", false, err
	}
	c.passes++

	head, found, err := c.fetch(ctx, r, t.Branch)
	if err != nil {
		return "", false, fmt.Errorf("fetching %s: %w", t.Branch, err)
	}
	w.remember(t, c.repo, head)
	old, parent, created := head, head, !found
	if created && t.BaseBranch != "" && t.BaseBranch != t.Branch {
		// The status branch starts from the branch the Fleet watches.
		if parent, _, err = c.fetch(ctx, r, t.BaseBranch); err != nil {
			return "", false, fmt.Errorf("fetching %s to start %s: %w", t.BaseBranch, t.Branch, err)
		}
	}

	tree, rootTree, err := c.readDir(parent, dir)
	if err != nil {
		return "", false, fmt.Errorf("reading %s: %w", t.Branch, err)
	}
	changes, message, err := update(tree)
	if err != nil {
		return "", false, err
	}
	if len(changes) == 0 {
		return "", false, nil
	}
	if changes, err = cleanChanges(changes); err != nil {
		return "", false, err
	}
	edit := &treeEdit{repo: c.repo}
	newTree, err := edit.apply(rootTree, changes)
	if err != nil {
		return "", false, fmt.Errorf("writing the status tree: %w", err)
	}
	newHead := parent
	if newTree != rootTree {
		if newTree.IsZero() { // every file deleted: an empty tree
			if newTree, err = edit.store(&object.Tree{}); err != nil {
				return "", false, err
			}
		}
		h, err := c.commit(t, newTree, parent, message)
		if err != nil {
			return "", false, fmt.Errorf("committing status: %w", err)
		}
		newHead, commit = h, h.String()
		edit.written = append(edit.written, h)
	} else if !created || parent.IsZero() {
		return "", false, nil // the files already say so
	}
	if err := c.push(ctx, r, t.Branch, old, newHead, edit.written); err != nil {
		if errors.Is(err, errMoved) || lostRace(err) {
			return "", true, err
		}
		return "", false, fmt.Errorf("pushing status to %s: %w", t.Branch, err)
	}
	w.remember(t, c.repo, newHead)
	return commit, false, nil
}

// isNotFound tells a missing branch from other clone failures.
func isNotFound(err error) bool {
	var notFound git.ErrRepositoryNotFound
	var noRef extgogit.NoMatchingRefSpecError
	return errors.As(err, &notFound) || errors.As(err, &noRef)
}

// lostRace tells a push refused because the branch moved (someone else pushed) from other
// failures, which retrying does not fix.
func lostRace(err error) bool {
	if errors.Is(err, extgogit.ErrNonFastForwardUpdate) {
		return true
	}
	msg := err.Error()
	// "failed to update ref": git receive-pack found the branch moved between our check of
	// its refs and its update (a push that landed in between).
	return strings.Contains(msg, "non-fast-forward") || strings.Contains(msg, "fetch first") ||
		strings.Contains(msg, "reference already exists") || strings.Contains(msg, "cannot lock ref") ||
		strings.Contains(msg, "failed to update ref")
}

// ReadTree reads the files under dir of a checkout, keyed by slash paths from the root; a
// missing dir reads as empty.
func ReadTree(root, dir string) (map[string][]byte, error) {
	tree := map[string][]byte{}
	base := filepath.Join(root, filepath.FromSlash(strings.Trim(dir, "/")))
	err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		tree[filepath.ToSlash(rel)] = data
		return nil
	})
	return tree, err
}
