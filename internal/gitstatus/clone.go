package gitstatus

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fluxcd/pkg/git"
	"github.com/fluxcd/pkg/ssh/knownhosts"
	extgogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
)

// remote is how to reach a status repository: its URL and the transport options made from
// the credentials Secret, checked as Flux checks them.
type remote struct {
	url                             string
	auth                            transport.AuthMethod
	caBundle, clientCert, clientKey []byte
}

func remoteOf(t Target) (*remote, error) {
	u, err := url.Parse(t.URL)
	if err != nil {
		return nil, fmt.Errorf("status repository URL: %w", err)
	}
	opts, err := git.NewAuthOptions(*u, t.Credentials)
	if err != nil {
		return nil, fmt.Errorf("status repository credentials: %w", err)
	}
	r := &remote{url: t.URL, caBundle: opts.CAFile, clientCert: opts.ClientCert, clientKey: opts.ClientKey}
	basic := opts.Username != "" || opts.Password != ""
	switch opts.Transport {
	case git.HTTP, git.HTTPS:
		if basic && opts.BearerToken != "" {
			return nil, errors.New("status repository credentials: basic auth and bearer token cannot be set at the same time")
		}
		if opts.Transport == git.HTTP && !t.CredentialsOverHTTP {
			// As Flux: no credentials in the clear unless the controller allows it.
			switch {
			case u.User != nil:
				return nil, errors.New("status repository URL cannot contain credentials when using HTTP")
			case basic:
				return nil, errors.New("basic auth cannot be sent over HTTP")
			case opts.BearerToken != "":
				return nil, errors.New("bearer token cannot be sent over HTTP")
			}
		}
		switch {
		case basic:
			r.auth = &githttp.BasicAuth{Username: opts.Username, Password: opts.Password}
		case opts.BearerToken != "":
			r.auth = &githttp.TokenAuth{Token: opts.BearerToken}
		}
	case git.SSH:
		if len(opts.Identity) == 0 || len(opts.KnownHosts) == 0 {
			return nil, errors.New("status repository credentials: SSH needs identity and known_hosts")
		}
		keys, err := gitssh.NewPublicKeys(opts.Username, opts.Identity, opts.Password)
		if err != nil {
			return nil, fmt.Errorf("status repository credentials: %w", err)
		}
		keys.HostKeyCallback, keys.HostKeyAlgorithms, err = knownhosts.New(opts.KnownHosts)
		if err != nil {
			return nil, fmt.Errorf("status repository known_hosts: %w", err)
		}
		r.auth = keys
	default:
		return nil, fmt.Errorf("status repository URL %q: unknown transport %q", t.URL, opts.Transport)
	}
	return r, nil
}

// clone is a bare repository on disk kept between passes for one status branch: each pass
// fetches what is new on the branch and writes only the objects of the files that change,
// so its cost follows the change, not the branch's history.
type clone struct {
	mu     sync.Mutex
	dir    string
	repo   *extgogit.Repository
	passes int
	used   time.Time
	// files caches the status directory of the last tree read, by path, with the blob each
	// came from: a pass reads only the blobs that moved.
	files map[string]cachedFile
}

type cachedFile struct {
	blob plumbing.Hash
	data []byte
}

const originName = "origin"

// open makes the bare repository when the clone has none.
func (c *clone) open(tempDir, rawURL string) error {
	if c.repo != nil {
		return nil
	}
	dir, err := os.MkdirTemp(tempDir, "lkaas-status-")
	if err != nil {
		return err
	}
	repo, err := extgogit.PlainInit(dir, true)
	if err == nil {
		_, err = repo.CreateRemote(&config.RemoteConfig{Name: originName, URLs: []string{rawURL}})
	}
	if err != nil {
		_ = os.RemoveAll(dir)
		return err
	}
	c.dir, c.repo, c.files, c.passes = dir, repo, nil, 0
	return nil
}

// discard drops the repository (after an error that may have left it half written, or to
// shed the loose objects and packs of many passes); the next pass clones again.
func (c *clone) discard() {
	if c.dir != "" {
		_ = os.RemoveAll(c.dir)
	}
	c.dir, c.repo, c.files, c.passes = "", nil, nil, 0
}

// fetch brings refs/remotes/origin/<branch> up to the server's branch, downloading only
// the objects the clone lacks. found is false when the branch (or the whole repository's
// history) does not exist.
func (c *clone) fetch(ctx context.Context, r *remote, branch string) (head plumbing.Hash, found bool, err error) {
	tracking := plumbing.NewRemoteReferenceName(originName, branch)
	spec := config.RefSpec(fmt.Sprintf("+%s:%s", plumbing.NewBranchReferenceName(branch), tracking))
	err = c.repo.FetchContext(ctx, &extgogit.FetchOptions{
		RemoteName: originName, RefSpecs: []config.RefSpec{spec}, Auth: r.auth, Tags: extgogit.NoTags,
		CABundle: r.caBundle, ClientCert: r.clientCert, ClientKey: r.clientKey,
	})
	switch {
	case err == nil, errors.Is(err, extgogit.NoErrAlreadyUpToDate):
	case errors.Is(err, transport.ErrEmptyRemoteRepository), isNotFound(err):
		return plumbing.ZeroHash, false, nil
	default:
		return plumbing.ZeroHash, false, err
	}
	ref, err := c.repo.Reference(tracking, true)
	if err != nil {
		return plumbing.ZeroHash, false, err
	}
	return ref.Hash(), true, nil
}

// readDir reads the files under dir of commit, keyed by slash paths from the root.
func (c *clone) readDir(commit plumbing.Hash, dir string) (map[string][]byte, plumbing.Hash, error) {
	if commit.IsZero() {
		return map[string][]byte{}, plumbing.ZeroHash, nil
	}
	co, err := c.repo.CommitObject(commit)
	if err != nil {
		return nil, plumbing.ZeroHash, err
	}
	root, err := co.Tree()
	if err != nil {
		return nil, plumbing.ZeroHash, err
	}
	prefix := strings.Trim(dir, "/")
	sub := root
	if prefix != "" {
		sub, err = root.Tree(prefix)
		if errors.Is(err, object.ErrDirectoryNotFound) {
			return map[string][]byte{}, root.Hash, nil
		}
		if err != nil {
			return nil, plumbing.ZeroHash, err
		}
		prefix += "/"
	}
	files := map[string]cachedFile{}
	if err := c.walk(sub, prefix, files); err != nil {
		return nil, plumbing.ZeroHash, err
	}
	c.files = files
	out := make(map[string][]byte, len(files))
	for name, f := range files {
		out[name] = f.data
	}
	return out, root.Hash, nil
}

func (c *clone) walk(t *object.Tree, prefix string, into map[string]cachedFile) error {
	for _, e := range t.Entries {
		name := prefix + e.Name
		switch {
		case e.Mode == filemode.Dir:
			sub, err := c.repo.TreeObject(e.Hash)
			if err != nil {
				return err
			}
			if err := c.walk(sub, name+"/", into); err != nil {
				return err
			}
		case e.Mode.IsFile():
			if f, ok := c.files[name]; ok && f.blob == e.Hash {
				into[name] = f
				continue
			}
			blob, err := c.repo.BlobObject(e.Hash)
			if err != nil {
				return err
			}
			rd, err := blob.Reader()
			if err != nil {
				return err
			}
			data, err := io.ReadAll(rd)
			_ = rd.Close()
			if err != nil {
				return err
			}
			into[name] = cachedFile{blob: e.Hash, data: data}
		}
	}
	return nil
}

// treeEdit writes a new root tree with changes applied (nil deletes a file), storing only
// the blobs and trees on the changed paths; written lists them for the push.
type treeEdit struct {
	repo    *extgogit.Repository
	written []plumbing.Hash
}

func (e *treeEdit) store(o interface {
	Encode(plumbing.EncodedObject) error
}) (plumbing.Hash, error) {
	obj := e.repo.Storer.NewEncodedObject()
	if err := o.Encode(obj); err != nil {
		return plumbing.ZeroHash, err
	}
	h, err := e.repo.Storer.SetEncodedObject(obj)
	if err == nil {
		e.written = append(e.written, h)
	}
	return h, err
}

func (e *treeEdit) blob(data []byte) (plumbing.Hash, error) {
	obj := e.repo.Storer.NewEncodedObject()
	obj.SetType(plumbing.BlobObject)
	w, err := obj.Writer()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if _, err := w.Write(data); err != nil {
		return plumbing.ZeroHash, err
	}
	if err := w.Close(); err != nil {
		return plumbing.ZeroHash, err
	}
	h, err := e.repo.Storer.SetEncodedObject(obj)
	if err == nil {
		e.written = append(e.written, h)
	}
	return h, err
}

// apply returns the tree that is tree (zero: none) with changes (relative paths) applied;
// zero when the result is empty.
func (e *treeEdit) apply(tree plumbing.Hash, changes map[string][]byte) (plumbing.Hash, error) {
	entries := map[string]object.TreeEntry{}
	if !tree.IsZero() {
		t, err := e.repo.TreeObject(tree)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		for _, en := range t.Entries {
			entries[en.Name] = en
		}
	}
	subdirs := map[string]map[string][]byte{}
	for name, data := range changes {
		first, rest, nested := strings.Cut(name, "/")
		if nested {
			if subdirs[first] == nil {
				subdirs[first] = map[string][]byte{}
			}
			subdirs[first][rest] = data
			continue
		}
		if data == nil {
			delete(entries, first)
			continue
		}
		h, err := e.blob(data)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		entries[first] = object.TreeEntry{Name: first, Mode: filemode.Regular, Hash: h}
	}
	for name, sub := range subdirs {
		var have plumbing.Hash
		if en, ok := entries[name]; ok && en.Mode == filemode.Dir {
			have = en.Hash
		}
		h, err := e.apply(have, sub)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		if h.IsZero() {
			delete(entries, name)
		} else {
			entries[name] = object.TreeEntry{Name: name, Mode: filemode.Dir, Hash: h}
		}
	}
	if len(entries) == 0 {
		return plumbing.ZeroHash, nil
	}
	out := &object.Tree{Entries: slices.Collect(maps.Values(entries))}
	// Git orders entries by name, a directory's name taken with a trailing slash.
	sortKey := func(en object.TreeEntry) string {
		if en.Mode == filemode.Dir {
			return en.Name + "/"
		}
		return en.Name
	}
	slices.SortFunc(out.Entries, func(a, b object.TreeEntry) int { return strings.Compare(sortKey(a), sortKey(b)) })
	if h, ok := e.existing(out); ok {
		// Stored by an earlier round whose push lost: it is still to be sent.
		e.written = append(e.written, h)
		return h, nil
	}
	return e.store(out)
}

// existing finds a tree already stored with the same entries without writing it again.
func (e *treeEdit) existing(t *object.Tree) (plumbing.Hash, bool) {
	obj := &plumbing.MemoryObject{}
	if err := t.Encode(obj); err != nil {
		return plumbing.ZeroHash, false
	}
	if e.repo.Storer.HasEncodedObject(obj.Hash()) == nil {
		return obj.Hash(), true
	}
	return plumbing.ZeroHash, false
}

// cleanChanges checks and normalizes the paths of changes: files inside the repository,
// never under .git.
func cleanChanges(changes map[string][]byte) (map[string][]byte, error) {
	out := make(map[string][]byte, len(changes))
	for name, data := range changes {
		clean := path.Clean("/" + name)[1:]
		if clean == "" || clean == ".git" || strings.HasPrefix(clean, ".git/") {
			return nil, fmt.Errorf("status path %q is not a file in the repository", name)
		}
		out[clean] = data
	}
	return out, nil
}

// commit stores a commit of tree on parent (zero: a root commit), signed when t says so.
func (c *clone) commit(t Target, tree, parent plumbing.Hash, message string) (plumbing.Hash, error) {
	author := t.Author
	if author.Name == "" {
		author = DefaultAuthor
	}
	sig := object.Signature{Name: author.Name, Email: author.Email, When: time.Now()}
	co := &object.Commit{Author: sig, Committer: sig, Message: message, TreeHash: tree}
	if !parent.IsZero() {
		co.ParentHashes = []plumbing.Hash{parent}
	}
	if t.Signer != nil {
		payload := &plumbing.MemoryObject{}
		if err := co.EncodeWithoutSignature(payload); err != nil {
			return plumbing.ZeroHash, err
		}
		rd, err := payload.Reader()
		if err != nil {
			return plumbing.ZeroHash, err
		}
		signature, err := t.Signer.Sign(rd)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("signing the status commit: %w", err)
		}
		co.PGPSignature = string(signature)
	}
	obj := c.repo.Storer.NewEncodedObject()
	if err := co.Encode(obj); err != nil {
		return plumbing.ZeroHash, err
	}
	return c.repo.Storer.SetEncodedObject(obj)
}

// errMoved is a push refused before sending because the branch is no longer where this
// pass started from.
var errMoved = errors.New("the status branch moved")

// push moves the server's branch from old (zero: absent) to newHead, never by force,
// sending exactly the objects written (go-git's own push walks the whole history to find
// them). On success the tracking ref follows, so the next fetch has nothing to download.
func (c *clone) push(ctx context.Context, r *remote, branch string, old, newHead plumbing.Hash, objects []plumbing.Hash) error {
	ep, err := transport.NewEndpoint(r.url)
	if err != nil {
		return err
	}
	ep.CaBundle, ep.ClientCert, ep.ClientKey = r.caBundle, r.clientCert, r.clientKey
	cli, err := client.NewClient(ep)
	if err != nil {
		return err
	}
	sess, err := cli.NewReceivePackSession(ep, r.auth)
	if err != nil {
		return err
	}
	defer sess.Close()
	adv, err := sess.AdvertisedReferencesContext(ctx)
	if err != nil {
		return err
	}
	refs, err := adv.AllReferences()
	if err != nil {
		return err
	}
	name := plumbing.NewBranchReferenceName(branch)
	current := plumbing.ZeroHash
	if ref, ok := refs[name]; ok {
		current = ref.Hash()
	}
	if current != old {
		return fmt.Errorf("%w: %s is at %s, this pass started from %s", errMoved, branch, current, old)
	}
	req := packp.NewReferenceUpdateRequestFromCapabilities(adv.Capabilities)
	req.Commands = []*packp.Command{{Name: name, Old: old, New: newHead}}
	var pack bytes.Buffer
	useRefDeltas := !adv.Capabilities.Supports(capability.OFSDelta)
	if _, err := packfile.NewEncoder(&pack, c.repo.Storer, useRefDeltas).Encode(objects, 0); err != nil {
		return err
	}
	req.Packfile = io.NopCloser(&pack)
	status, err := sess.ReceivePack(ctx, req)
	if err != nil {
		return err
	}
	if status != nil {
		if err := status.Error(); err != nil {
			return err
		}
	}
	return c.repo.Storer.SetReference(plumbing.NewHashReference(plumbing.NewRemoteReferenceName(originName, branch), newHead))
}
