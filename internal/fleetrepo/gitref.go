package fleetrepo

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Checkout writes the tree of a Git revision (a branch, tag, "origin/main", "HEAD~1" or a
// commit hash) of the repository that holds dir into a new temporary directory. It returns
// that directory (the repository root at the revision), where dir sits inside it, and a
// function that removes it. Symbolic links are skipped, as in a Flux artifact.
func Checkout(dir, revision string) (root, fleetDir string, cleanup func(), err error) {
	return CheckoutAt(dir, revision, func(string) {})
}

// CheckoutAt is Checkout that also tells the work tree's root on disk, so that a path given
// for the work tree (a --root) can be mapped into the checkout.
func CheckoutAt(dir, revision string, workTreeRoot func(string)) (root, fleetDir string, cleanup func(), err error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", "", nil, err
	}
	repo, err := git.PlainOpenWithOptions(abs, &git.PlainOpenOptions{DetectDotGit: true})
	if err != nil {
		return "", "", nil, fmt.Errorf("%s is not in a Git repository: %w", dir, err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		return "", "", nil, err
	}
	workTreeRoot(wt.Filesystem.Root())
	rel, err := filepath.Rel(wt.Filesystem.Root(), abs)
	if err != nil || strings.HasPrefix(rel, "..") {
		return "", "", nil, fmt.Errorf("%s is outside its repository", dir)
	}
	hash, err := repo.ResolveRevision(plumbing.Revision(revision))
	if err != nil {
		return "", "", nil, fmt.Errorf("revision %q: %w", revision, err)
	}
	commit, err := repo.CommitObject(*hash)
	if err != nil {
		return "", "", nil, fmt.Errorf("revision %q: %w", revision, err)
	}
	tree, err := commit.Tree()
	if err != nil {
		return "", "", nil, err
	}

	tmp, err := os.MkdirTemp("", "lkaas-"+hash.String()[:12]+"-")
	if err != nil {
		return "", "", nil, err
	}
	cleanup = func() { _ = os.RemoveAll(tmp) }
	err = tree.Files().ForEach(func(f *object.File) error {
		if f.Mode == filemode.Symlink || f.Mode == filemode.Submodule {
			return nil
		}
		return writeFile(filepath.Join(tmp, filepath.FromSlash(f.Name)), f)
	})
	if err != nil {
		cleanup()
		return "", "", nil, err
	}
	fleetDir = filepath.Join(tmp, rel)
	if err := os.MkdirAll(fleetDir, 0o755); err != nil {
		cleanup()
		return "", "", nil, err
	}
	return tmp, fleetDir, cleanup, nil
}

func writeFile(path string, f *object.File) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	r, err := f.Reader()
	if err != nil {
		return err
	}
	defer r.Close()
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, r); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
