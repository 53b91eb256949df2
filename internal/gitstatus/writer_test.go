package gitstatus_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/fluxcd/pkg/git/signature"
	"github.com/fluxcd/pkg/gittestserver"
	extgogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/dcn-ssu/lkaas/internal/gitstatus"
)

// gitServer serves one repository over HTTP whose branch "main" holds a fleet file.
func gitServer(t testing.TB, auth ...string) (*gittestserver.GitServer, string) {
	t.Helper()
	srv, err := gittestserver.NewTempGitServer()
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(srv.Root()) })
	fixture := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(fixture, "fleet.yaml"), []byte("# fleet\n"), 0o644))
	require.NoError(t, srv.InitRepo(fixture, "main", "org/fleet.git"))
	if len(auth) == 2 {
		srv.Auth(auth[0], auth[1])
	}
	require.NoError(t, srv.StartHTTP())
	t.Cleanup(srv.StopHTTP)
	return srv, srv.HTTPAddress() + "/org/fleet.git"
}

// gitCLI runs the git command line in dir and returns its output.
func gitCLI(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Human", "GIT_AUTHOR_EMAIL=human@example.com",
		"GIT_COMMITTER_NAME=Human", "GIT_COMMITTER_EMAIL=human@example.com", "GIT_TERMINAL_PROMPT=0")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "git %s: %s", strings.Join(args, " "), out)
	return strings.TrimSpace(string(out))
}

// cloneCLI clones branch with the git CLI, as a person reviewing the status would.
func cloneCLI(t *testing.T, url, branch string) string {
	t.Helper()
	dir := t.TempDir()
	gitCLI(t, dir, "clone", "--quiet", "--branch", branch, url, "repo")
	return filepath.Join(dir, "repo")
}

func files(pairs ...string) gitstatus.Update {
	return func(map[string][]byte) (map[string][]byte, string, error) {
		changes := map[string][]byte{}
		for i := 0; i+1 < len(pairs); i += 2 {
			changes[pairs[i]] = []byte(pairs[i+1])
		}
		return changes, "status: test", nil
	}
}

func target(url string) gitstatus.Target {
	return gitstatus.Target{URL: url, Branch: "lkaas/status", BaseBranch: "main",
		Author: gitstatus.Author{Name: "L-KaaS bot", Email: "bot@example.com"}}
}

func TestWriterCreatesTheStatusBranchAndCommitsOnlyChanges(t *testing.T) {
	_, url := gitServer(t)
	w := &gitstatus.Writer{TempDir: t.TempDir()}
	ctx := context.Background()

	res, err := w.Write(ctx, target(url), "status/", files("status/a/cluster/x.yaml", "phase: Ready\n"))
	require.NoError(t, err)
	require.NotEmpty(t, res.Commit)

	repo := cloneCLI(t, url, "lkaas/status")
	assert.Equal(t, res.Commit, gitCLI(t, repo, "rev-parse", "HEAD"))
	assert.Equal(t, "L-KaaS bot <bot@example.com> status: test", gitCLI(t, repo, "log", "-1", "--format=%an <%ae> %s"))
	data, err := os.ReadFile(filepath.Join(repo, "status/a/cluster/x.yaml"))
	require.NoError(t, err)
	assert.Equal(t, "phase: Ready\n", string(data))
	assert.FileExists(t, filepath.Join(repo, "fleet.yaml"), "the status branch starts from the watched branch")
	main := cloneCLI(t, url, "main")
	assert.NoFileExists(t, filepath.Join(main, "status/a/cluster/x.yaml"), "the watched branch is untouched")

	// The same content again: no commit.
	var seen map[string][]byte
	res, err = w.Write(ctx, target(url), "status/", func(tree map[string][]byte) (map[string][]byte, string, error) {
		seen = tree
		return map[string][]byte{"status/a/cluster/x.yaml": []byte("phase: Ready\n")}, "status: again", nil
	})
	require.NoError(t, err)
	assert.Empty(t, res.Commit)
	assert.Equal(t, map[string][]byte{"status/a/cluster/x.yaml": []byte("phase: Ready\n")}, seen, "update sees the status files of the head")
	repo = cloneCLI(t, url, "lkaas/status")
	assert.Equal(t, "2", gitCLI(t, repo, "rev-list", "--count", "HEAD"), "the base commit and one status commit")

	// A nil content deletes the file.
	res, err = w.Write(ctx, target(url), "status/", func(map[string][]byte) (map[string][]byte, string, error) {
		return map[string][]byte{"status/a/cluster/x.yaml": nil, "status/README.md": []byte("# s\n")}, "status: gone", nil
	})
	require.NoError(t, err)
	require.NotEmpty(t, res.Commit)
	repo = cloneCLI(t, url, "lkaas/status")
	assert.NoFileExists(t, filepath.Join(repo, "status/a/cluster/x.yaml"))
	assert.FileExists(t, filepath.Join(repo, "status/README.md"))
}

// Someone pushes to the status branch between our clone and our push: our push is refused,
// the writer starts again on their head, and both commits are in the history.
func TestWriterRetriesOnTopOfAConcurrentPush(t *testing.T) {
	_, url := gitServer(t)
	w := &gitstatus.Writer{TempDir: t.TempDir()}
	ctx := context.Background()
	_, err := w.Write(ctx, target(url), "status/", files("status/a.yaml", "one\n"))
	require.NoError(t, err)

	calls := 0
	res, err := w.Write(ctx, target(url), "status/", func(tree map[string][]byte) (map[string][]byte, string, error) {
		calls++
		if calls == 1 {
			human := cloneCLI(t, url, "lkaas/status")
			require.NoError(t, os.WriteFile(filepath.Join(human, "NOTES.md"), []byte("a human was here\n"), 0o644))
			gitCLI(t, human, "add", "NOTES.md")
			gitCLI(t, human, "commit", "--quiet", "-m", "human: notes")
			gitCLI(t, human, "push", "--quiet", "origin", "lkaas/status")
		}
		return map[string][]byte{"status/a.yaml": []byte("two\n")}, "status: two", nil
	})
	require.NoError(t, err)
	assert.Equal(t, 2, res.Attempts)
	assert.Equal(t, 2, calls, "the status is computed again on the new head")

	repo := cloneCLI(t, url, "lkaas/status")
	log := gitCLI(t, repo, "log", "--format=%s")
	assert.Equal(t, "status: two\nhuman: notes\nstatus: test\n"+gitCLI(t, repo, "log", "-1", "--format=%s", "HEAD~3"), log)
	assert.FileExists(t, filepath.Join(repo, "NOTES.md"), "their commit is kept")
	data, _ := os.ReadFile(filepath.Join(repo, "status/a.yaml"))
	assert.Equal(t, "two\n", string(data))
}

func TestWriterReportsWrongCredentials(t *testing.T) {
	_, url := gitServer(t, "lkaas", "right-password")
	w := &gitstatus.Writer{TempDir: t.TempDir()}
	tgt := target(url)
	tgt.CredentialsOverHTTP = true
	tgt.Credentials = map[string][]byte{"username": []byte("lkaas"), "password": []byte("wrong-password")}
	_, err := w.Write(context.Background(), tgt, "status/", files("status/a.yaml", "x\n"))
	require.Error(t, err)
	assert.Contains(t, strings.ToLower(err.Error()), "authentication")
	assert.NotContains(t, err.Error(), "wrong-password", "no secret in errors")

	tgt.Credentials["password"] = []byte("right-password")
	res, err := w.Write(context.Background(), tgt, "status/", files("status/a.yaml", "x\n"))
	require.NoError(t, err)
	assert.NotEmpty(t, res.Commit)
}

// Commits signed with the key of a signing-key Secret, OpenPGP or SSH, verify with the
// public part of that key.
func TestWriterSignsCommits(t *testing.T) {
	entity, err := openpgp.NewEntity("L-KaaS", "status", "bot@example.com", nil)
	require.NoError(t, err)
	var private, public bytes.Buffer
	aw, err := armor.Encode(&private, openpgp.PrivateKeyType, nil)
	require.NoError(t, err)
	require.NoError(t, entity.SerializePrivate(aw, nil))
	require.NoError(t, aw.Close())
	aw, err = armor.Encode(&public, openpgp.PublicKeyType, nil)
	require.NoError(t, err)
	require.NoError(t, entity.Serialize(aw))
	require.NoError(t, aw.Close())

	pub, key, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	block, err := ssh.MarshalPrivateKey(key, "status signing")
	require.NoError(t, err)
	sshPub, err := ssh.NewPublicKey(pub)
	require.NoError(t, err)

	for _, tc := range []struct {
		name   string
		secret map[string][]byte
		verify func(sig string, payload []byte) error
	}{
		{"OpenPGP", map[string][]byte{gitstatus.SigningKeyPGPKey: private.Bytes()}, func(sig string, payload []byte) error {
			_, err := signature.VerifyPGPSignature(sig, payload, public.String())
			return err
		}},
		{"SSH", map[string][]byte{gitstatus.SigningKeySSHKey: pem.EncodeToMemory(block)}, func(sig string, payload []byte) error {
			_, err := signature.VerifySSHSignature(sig, payload, string(ssh.MarshalAuthorizedKey(sshPub)))
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, url := gitServer(t)
			signer, err := gitstatus.SignerFromSecret(tc.secret)
			require.NoError(t, err)
			tgt := target(url)
			tgt.Signer = signer
			w := &gitstatus.Writer{TempDir: t.TempDir()}
			res, err := w.Write(context.Background(), tgt, "status/", files("status/a.yaml", "x\n"))
			require.NoError(t, err)

			repo, err := extgogit.PlainOpen(cloneCLI(t, url, "lkaas/status"))
			require.NoError(t, err)
			commit, err := repo.CommitObject(plumbing.NewHash(res.Commit))
			require.NoError(t, err)
			require.NotEmpty(t, commit.PGPSignature, "the commit carries a signature")
			var payload plumbing.MemoryObject
			require.NoError(t, commit.EncodeWithoutSignature(&payload))
			r, err := payload.Reader()
			require.NoError(t, err)
			var buf bytes.Buffer
			_, err = buf.ReadFrom(r)
			require.NoError(t, err)
			assert.NoError(t, tc.verify(commit.PGPSignature, buf.Bytes()), "the signature verifies with the key's public part")
			assert.Error(t, tc.verify(commit.PGPSignature, append(buf.Bytes(), 'x')), "and not for other content")
		})
	}
}

func TestSignerFromSecretRefusesWhatCannotSign(t *testing.T) {
	_, err := gitstatus.SignerFromSecret(map[string][]byte{"token": []byte("x")})
	assert.ErrorContains(t, err, "git.asc")
	entity, err := openpgp.NewEntity("L-KaaS", "", "bot@example.com", nil)
	require.NoError(t, err)
	var public bytes.Buffer
	aw, err := armor.Encode(&public, openpgp.PublicKeyType, nil)
	require.NoError(t, err)
	require.NoError(t, entity.Serialize(aw))
	require.NoError(t, aw.Close())
	_, err = gitstatus.SignerFromSecret(map[string][]byte{gitstatus.SigningKeyPGPKey: public.Bytes()})
	assert.ErrorContains(t, err, "private key")
}

// The writer keeps its clone between passes: after the first pass has downloaded the
// branch's history, a pass downloads only what is new (another writer's commit, which it
// builds on) and a pass with nothing new only the refs.
func TestWriterFetchesOnlyWhatIsNew(t *testing.T) {
	srv, _ := gitServer(t)
	buildHistory(t, filepath.Join(srv.Root(), "org", "fleet.git"), 1000, 300)
	proxyURL, received := countingProxy(t, srv.HTTPAddress())
	url := proxyURL + "/org/fleet.git"
	w := &gitstatus.Writer{TempDir: t.TempDir()}
	defer w.Close()
	ctx := context.Background()

	res, err := w.Write(ctx, target(url), "status/", files("status/a.yaml", "one\n"))
	require.NoError(t, err)
	require.NotEmpty(t, res.Commit)
	first := received.Swap(0)

	human := cloneCLI(t, url, "lkaas/status")
	require.NoError(t, os.WriteFile(filepath.Join(human, "NOTES.md"), []byte("a human was here\n"), 0o644))
	gitCLI(t, human, "add", "NOTES.md")
	gitCLI(t, human, "commit", "--quiet", "-m", "human: notes")
	gitCLI(t, human, "push", "--quiet", "origin", "lkaas/status")
	received.Store(0)

	var seen map[string][]byte
	res, err = w.Write(ctx, target(url), "status/", func(tree map[string][]byte) (map[string][]byte, string, error) {
		seen = tree
		return map[string][]byte{"status/a.yaml": []byte("two\n")}, "status: two", nil
	})
	require.NoError(t, err)
	assert.Equal(t, 1, res.Attempts)
	assert.Equal(t, 1002, len(seen), "the pass reads the status directory of the head: 1,000 clusters, the Fleet, a.yaml")
	assert.Equal(t, "one\n", string(seen["status/a.yaml"]))
	incremental := received.Swap(0)
	assert.Less(t, incremental*20, first, "a pass after another writer's commit downloads that commit, not the history (%d bytes, first pass %d)", incremental, first)

	res, err = w.Write(ctx, target(url), "status/", files("status/a.yaml", "two\n"))
	require.NoError(t, err)
	assert.Empty(t, res.Commit)
	assert.Less(t, received.Load(), int64(2048), "a pass with nothing new downloads the refs only")

	repo := cloneCLI(t, url, "lkaas/status")
	assert.Equal(t, "status: two\nhuman: notes\nstatus: test", gitCLI(t, repo, "log", "-3", "--format=%s"))
	assert.FileExists(t, filepath.Join(repo, "NOTES.md"))
}

// An empty repository gets the status branch as its first branch, from a root commit.
func TestWriterStartsTheBranchInAnEmptyRepository(t *testing.T) {
	srv, _ := gitServer(t)
	bare := filepath.Join(srv.Root(), "org", "empty.git")
	require.NoError(t, os.MkdirAll(bare, 0o755))
	gitCLI(t, bare, "init", "--quiet", "--bare")
	url := srv.HTTPAddress() + "/org/empty.git"
	w := &gitstatus.Writer{TempDir: t.TempDir()}
	defer w.Close()

	res, err := w.Write(context.Background(), target(url), "status/", files("status/a.yaml", "one\n"))
	require.NoError(t, err)
	require.NotEmpty(t, res.Commit)
	repo := cloneCLI(t, url, "lkaas/status")
	assert.Equal(t, "1", gitCLI(t, repo, "rev-list", "--count", "HEAD"))
	data, err := os.ReadFile(filepath.Join(repo, "status/a.yaml"))
	require.NoError(t, err)
	assert.Equal(t, "one\n", string(data))
}

// Credentials never go over plain HTTP unless the controller allows it: refused before
// anything is sent.
func TestWriterRefusesCredentialsOverHTTP(t *testing.T) {
	srv, _ := gitServer(t, "lkaas", "secret-password")
	proxyURL, received := countingProxy(t, srv.HTTPAddress())
	w := &gitstatus.Writer{TempDir: t.TempDir()}
	defer w.Close()
	for _, tc := range []struct {
		name, url string
		creds     map[string][]byte
		want      string
	}{
		{"basic auth", proxyURL + "/org/fleet.git", map[string][]byte{"username": []byte("lkaas"), "password": []byte("secret-password")}, "basic auth cannot be sent over HTTP"},
		{"bearer token", proxyURL + "/org/fleet.git", map[string][]byte{"bearerToken": []byte("secret-password")}, "bearer token cannot be sent over HTTP"},
		{"in the URL", strings.Replace(proxyURL, "http://", "http://lkaas:secret-password@", 1) + "/org/fleet.git", nil, "URL cannot contain credentials"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tgt := target(tc.url)
			tgt.Credentials = tc.creds
			_, err := w.Write(context.Background(), tgt, "status/", files("status/a.yaml", "x\n"))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "secret-password", "no secret in errors")
			assert.Zero(t, received.Load(), "nothing was sent")
		})
	}
}

// Clones kept between passes are bounded: beyond MaxClones the least recently used goes,
// and Close removes the rest.
func TestWriterBoundsItsClones(t *testing.T) {
	tmp := t.TempDir()
	w := &gitstatus.Writer{TempDir: tmp, MaxClones: 1}
	clones := func() int {
		entries, err := os.ReadDir(tmp)
		require.NoError(t, err)
		return len(entries)
	}
	for i := range 3 {
		_, url := gitServer(t)
		_, err := w.Write(context.Background(), target(url), "status/", files("status/a.yaml", fmt.Sprintf("%d\n", i)))
		require.NoError(t, err)
		assert.Equal(t, 1, clones(), "after the write to repository %d", i)
	}
	w.Close()
	assert.Zero(t, clones())
}
