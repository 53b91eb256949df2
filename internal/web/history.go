package web

import (
	"cmp"
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/controllers"
	"github.com/dcn-ssu/lkaas/internal/gitstatus"
)

// StatusLog gives the commits of a status branch as the status writer last saw them, without
// touching the network (gitstatus.Writer is one).
type StatusLog interface {
	Log(url, branch string) (commits []gitstatus.Commit, known bool)
}

// HistoryPage is the Fleet history page.
type HistoryPage struct {
	Namespace, Name string
	Branch          string
	// Revision is the Fleet's applied source revision; RevisionURL its commit page when the
	// source is on a known forge.
	Revision, RevisionURL string
	Entries               []HistoryEntry
	// FromBranch: Entries are the status branch's commits of this Fleet; otherwise the status
	// commits this controller saw since it started (no pass has read the branch yet).
	FromBranch bool
	WriteBack  bool
	LastError  string
}

// HistoryEntry is one status commit of a Fleet.
type HistoryEntry struct {
	Commit    string
	CommitURL string // the status commit on its forge, if known
	Time      time.Time
	Subject   string
	// Revision is the source revision that caused the commit; RevisionURL its commit page.
	Revision    string
	RevisionURL string
}

func (s *Server) fleetHistory(ctx context.Context, r *http.Request, _ string) (any, error) {
	ns, name := r.PathValue("namespace"), r.PathValue("name")
	f := &automationv1alpha1.Fleet{}
	if err := s.reader.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, f); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, errNotFound
		}
		return nil, err
	}
	sourceURL := s.sourceURL(ctx, f)
	page := &HistoryPage{Namespace: ns, Name: name, Revision: f.Status.LastAppliedRevision,
		RevisionURL: commitURL(sourceURL, f.Status.LastAppliedRevision), WriteBack: f.Spec.WriteBack != nil}
	if f.Spec.WriteBack == nil {
		return page, nil
	}
	if f.Status.WriteBack != nil {
		page.LastError = f.Status.WriteBack.LastError
	}
	page.Branch = cmp.Or(f.Spec.WriteBack.Branch, controllers.DefaultStatusBranch)
	// The status repository, as the writer works it out: the write-back URL, else the source's.
	statusURL := cmp.Or(f.Spec.WriteBack.URL, sourceURL)
	if s.opts.StatusLog != nil && statusURL != "" {
		if commits, known := s.opts.StatusLog.Log(statusURL, page.Branch); known {
			page.FromBranch = true
			owner := ns + "/" + name
			for _, c := range commits {
				if c.Fleet != owner {
					continue
				}
				page.Entries = append(page.Entries, HistoryEntry{Commit: c.Hash, CommitURL: commitURL(statusURL, c.Hash),
					Time: c.Time, Subject: c.Subject, Revision: c.SourceRevision, RevisionURL: commitURL(sourceURL, c.SourceRevision)})
			}
			return page, nil
		}
	}
	s.history.record(f) // the page may be opened before the informer handler saw the Fleet
	for _, e := range s.history.of(ns, name) {
		e.CommitURL, e.RevisionURL = commitURL(statusURL, e.Commit), commitURL(sourceURL, e.Revision)
		page.Entries = append(page.Entries, e)
	}
	return page, nil
}

// sourceURL is the URL of the Fleet's GitRepository, read from the cache; empty for other
// sources and for a GitRepository in another namespace (the page shows one namespace's
// objects per Fleet, as the writer does without --allow-cross-namespace-refs).
func (s *Server) sourceURL(ctx context.Context, f *automationv1alpha1.Fleet) string {
	ref := f.Spec.SourceRef
	if ref.Kind != sourcev1.GitRepositoryKind || (ref.Namespace != "" && ref.Namespace != f.Namespace) {
		return ""
	}
	repo := &sourcev1.GitRepository{}
	if err := s.reader.Get(ctx, client.ObjectKey{Namespace: f.Namespace, Name: ref.Name}, repo); err != nil {
		return ""
	}
	return repo.Spec.URL
}

// forgeCommitPaths are the forges whose commit pages the history links to, by host: the path
// between the repository and the hash.
var forgeCommitPaths = map[string]string{
	"github.com":    "/commit/",
	"gitlab.com":    "/-/commit/",
	"bitbucket.org": "/commits/",
	"codeberg.org":  "/commit/",
}

var commitHash = regexp.MustCompile(`^[0-9a-f]{7,64}$`)

// commitURL is the commit page of revision (a hash or a Flux revision such as
// "main@sha1:0123…") in the repository at repoURL, when that is an https URL of a known
// forge; empty otherwise, and the page shows the revision as text.
func commitURL(repoURL, revision string) string {
	u, err := url.Parse(repoURL)
	if err != nil || u.Scheme != "https" || revision == "" {
		return ""
	}
	host := strings.ToLower(u.Hostname())
	commitPath, ok := forgeCommitPaths[host]
	if !ok {
		return ""
	}
	repoPath := strings.TrimSuffix(strings.Trim(u.Path, "/"), ".git")
	if strings.Count(repoPath, "/") < 1 {
		return ""
	}
	hash := revision
	if i := strings.LastIndexAny(hash, ":/"); i >= 0 { // main@sha1:<hash>, sha1:<hash>, main/<hash>
		hash = hash[i+1:]
	}
	if !commitHash.MatchString(hash) {
		return ""
	}
	// No user, port or query of the configured URL goes into the link.
	return (&url.URL{Scheme: "https", Host: host, Path: "/" + repoPath + commitPath + hash}).String()
}
