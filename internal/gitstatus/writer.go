package gitstatus

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/fluxcd/pkg/git"
	"github.com/fluxcd/pkg/git/gogit"
	"github.com/fluxcd/pkg/git/repository"
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
	// Attempts counts clone-commit-push rounds (more than one when a push lost a race).
	Attempts int
}

// Writer commits status to Git and pushes it, never by force: when someone else pushed
// first, it starts again from their head, so no commit of either side is lost.
type Writer struct {
	// MaxAttempts bounds rounds against concurrent pushes; default 6.
	MaxAttempts int
	// Backoff is the wait before the second round, doubled (with jitter) after that;
	// default 200ms.
	Backoff time.Duration
	// TempDir holds the short-lived clones; default os.TempDir().
	TempDir string
}

// ErrPushRace is returned when every attempt lost a race with other pushers.
var ErrPushRace = errors.New("status push kept losing races with other pushes")

// Write clones t.Branch, lets update decide the status files, commits them and pushes.
func (w *Writer) Write(ctx context.Context, t Target, dir string, update Update) (Result, error) {
	attempts := w.MaxAttempts
	if attempts <= 0 {
		attempts = 6
	}
	backoff := w.Backoff
	if backoff <= 0 {
		backoff = 200 * time.Millisecond
	}
	for i := 1; ; i++ {
		commit, raced, err := w.round(ctx, t, dir, update)
		if err == nil && !raced {
			return Result{Commit: commit, Attempts: i}, nil
		}
		if err != nil && !raced {
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

// round is one clone, update, commit and push. raced reports a push that lost to another.
func (w *Writer) round(ctx context.Context, t Target, dir string, update Update) (commit string, raced bool, err error) {
	tmp, err := os.MkdirTemp(w.TempDir, "lkaas-status-")
	if err != nil {
		return "", false, err
	}
	defer os.RemoveAll(tmp)

	client, created, err := w.checkout(ctx, t, tmp)
	if err != nil {
		return "", false, err
	}
	defer client.Close()

	tree, err := ReadTree(client.Path(), dir)
	if err != nil {
		return "", false, err
	}
	changes, message, err := update(tree)
	if err != nil {
		return "", false, err
	}
	if len(changes) == 0 {
		return "", false, nil
	}
	if err := writeTree(client.Path(), changes); err != nil {
		return "", false, err
	}
	commit, err = commitAll(client.Path(), t, message)
	if errors.Is(err, extgogit.ErrEmptyCommit) && !created {
		return "", false, nil // the files already say so
	}
	if err != nil && !errors.Is(err, extgogit.ErrEmptyCommit) {
		return "", false, fmt.Errorf("committing status: %w", err)
	}
	if err := client.Push(ctx, repository.PushConfig{}); err != nil {
		if lostRace(err) {
			return "", true, err
		}
		return "", false, fmt.Errorf("pushing status to %s: %w", t.Branch, err)
	}
	return commit, false, nil
}

// commitAll stages every change of the checkout at once and commits it. The client's own
// Commit stages file by file, each with a full status of the worktree: with a thousand
// documents that is a thousand statuses of a thousand files.
func commitAll(dir string, t Target, message string) (string, error) {
	repo, err := extgogit.PlainOpen(dir)
	if err != nil {
		return "", err
	}
	wt, err := repo.Worktree()
	if err != nil {
		return "", err
	}
	if err := wt.AddWithOptions(&extgogit.AddOptions{All: true}); err != nil {
		return "", err
	}
	author := t.Author
	if author.Name == "" {
		author = DefaultAuthor
	}
	opts := &extgogit.CommitOptions{
		Author: &object.Signature{Name: author.Name, Email: author.Email, When: time.Now()},
	}
	if t.Signer != nil {
		opts.Signer = t.Signer
	}
	hash, err := wt.Commit(message, opts)
	if err != nil {
		return "", err
	}
	return hash.String(), nil
}

// checkout clones the status branch, or, when it does not exist yet, the base branch with
// the status branch created on top (an empty repository gets the status branch alone).
func (w *Writer) checkout(ctx context.Context, t Target, dir string) (*gogit.Client, bool, error) {
	u, err := url.Parse(t.URL)
	if err != nil {
		return nil, false, fmt.Errorf("status repository URL: %w", err)
	}
	auth, err := git.NewAuthOptions(*u, t.Credentials)
	if err != nil {
		return nil, false, fmt.Errorf("status repository credentials: %w", err)
	}
	newClient := func(path string) (*gogit.Client, error) {
		opts := []gogit.ClientOption{gogit.WithDiskStorage(), gogit.WithSingleBranch(true)}
		if t.CredentialsOverHTTP {
			opts = append(opts, gogit.WithInsecureCredentialsOverHTTP())
		}
		return gogit.NewClient(path, auth, opts...)
	}

	client, err := newClient(filepath.Join(dir, "status"))
	if err != nil {
		return nil, false, err
	}
	_, err = client.Clone(ctx, t.URL, repository.CloneConfig{CheckoutStrategy: repository.CheckoutStrategy{Branch: t.Branch}})
	if err == nil {
		return client, false, nil
	}
	client.Close()
	if !isNotFound(err) || t.BaseBranch == "" || t.BaseBranch == t.Branch {
		return nil, false, fmt.Errorf("cloning %s: %w", t.Branch, err)
	}

	client, err = newClient(filepath.Join(dir, "base"))
	if err != nil {
		return nil, false, err
	}
	if _, err := client.Clone(ctx, t.URL, repository.CloneConfig{CheckoutStrategy: repository.CheckoutStrategy{Branch: t.BaseBranch}}); err != nil {
		client.Close()
		return nil, false, fmt.Errorf("cloning %s to start %s: %w", t.BaseBranch, t.Branch, err)
	}
	if err := client.SwitchBranch(ctx, t.Branch); err != nil {
		client.Close()
		return nil, false, err
	}
	return client, true, nil
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
	return strings.Contains(msg, "non-fast-forward") || strings.Contains(msg, "fetch first") ||
		strings.Contains(msg, "reference already exists") || strings.Contains(msg, "cannot lock ref")
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

// writeTree applies changes to a checkout: writes files, deletes those given as nil. Paths
// must stay inside the checkout.
func writeTree(root string, changes map[string][]byte) error {
	for name, data := range changes {
		clean := path.Clean("/" + name)[1:]
		if clean == "" || strings.HasPrefix(clean, ".git/") || clean == ".git" {
			return fmt.Errorf("status path %q is not a file in the repository", name)
		}
		p := filepath.Join(root, filepath.FromSlash(clean))
		if data == nil {
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
