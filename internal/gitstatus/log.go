package gitstatus

import (
	"regexp"
	"strings"
	"time"

	extgogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

// The trailers that end every status commit message: which Fleet it is about and the source
// revision it reflects, so the history can be read (and linked) whatever the subject says.
const (
	FleetTrailer          = "Fleet"
	SourceRevisionTrailer = "Source-Revision"
)

// Trailers is the trailer paragraph of a status commit of fleet (namespace/name) made from
// the source revision; it goes last in the message, after a blank line.
func Trailers(fleet, revision string) string {
	var b strings.Builder
	b.WriteString(FleetTrailer + ": " + fleet + "\n")
	if revision != "" {
		b.WriteString(SourceRevisionTrailer + ": " + revision + "\n")
	}
	return b.String()
}

// Commit is one commit of a status branch, as the history page shows it.
type Commit struct {
	Hash    string
	Time    time.Time
	Subject string
	// Fleet (namespace/name) and SourceRevision come from the message's trailers; empty on
	// commits that are not status commits (a person's, or the watched branch's history).
	Fleet          string
	SourceRevision string
}

// LogLength bounds the commits kept per status branch: the newest ones.
const LogLength = 200

// branchLog is the kept log of one status branch, newest first; replaced, never modified,
// so a reader may hold it while the writer refreshes.
type branchLog struct {
	head    plumbing.Hash
	commits []Commit
}

// Log returns the newest commits of a status branch (url and branch as in the Target), as
// the writer last saw the branch: on its last fetch or push. It never touches the network
// nor waits for a pass; known is false until a pass has read the branch since start.
func (w *Writer) Log(url, branch string) (commits []Commit, known bool) {
	w.logMu.RLock()
	defer w.logMu.RUnlock()
	l, ok := w.logs[logKey(url, branch)]
	if !ok {
		return nil, false
	}
	return append([]Commit(nil), l.commits...), true
}

func logKey(url, branch string) string { return url + "\x00" + branch }

// remember brings the kept log of t's branch to head, reading only the commits above the
// head it had (the walk stops there), so its cost follows the change. The caller holds the
// clone's lock, so repo is stable.
func (w *Writer) remember(t Target, repo *extgogit.Repository, head plumbing.Hash) {
	key := logKey(t.URL, t.Branch)
	w.logMu.RLock()
	old := w.logs[key]
	w.logMu.RUnlock()
	if old != nil && old.head == head {
		return
	}
	var fresh []Commit
	for h := head; !h.IsZero() && len(fresh) < LogLength; {
		if old != nil && h == old.head {
			fresh = append(fresh, old.commits...)
			break
		}
		co, err := repo.CommitObject(h)
		if err != nil {
			break // not in the clone: the log ends here
		}
		fleet, revision := parseTrailers(co.Message)
		fresh = append(fresh, Commit{Hash: co.Hash.String(), Time: co.Committer.When, Subject: subject(co.Message),
			Fleet: fleet, SourceRevision: revision})
		if len(co.ParentHashes) == 0 {
			break
		}
		h = co.ParentHashes[0] // the status branch is linear; a merge's mainline is enough
	}
	if len(fresh) > LogLength {
		fresh = fresh[:LogLength]
	}
	w.logMu.Lock()
	defer w.logMu.Unlock()
	if w.logs == nil {
		w.logs = map[string]*branchLog{}
	}
	w.logs[key] = &branchLog{head: head, commits: fresh}
}

func subject(message string) string {
	first, _, _ := strings.Cut(strings.TrimSpace(message), "\n")
	return first
}

// defaultSubject is DefaultStatusMessage's shape: commits written before the trailers still
// name their Fleet and revision there.
var defaultSubject = regexp.MustCompile(`^lkaas: status of Fleet (\S+/\S+) at (.+)$`)

// parseTrailers reads the Fleet and Source-Revision trailers of the message's last
// paragraph, or else the default subject.
func parseTrailers(message string) (fleet, revision string) {
	paragraphs := strings.Split(strings.TrimSpace(message), "\n\n")
	if len(paragraphs) > 1 {
		for _, line := range strings.Split(paragraphs[len(paragraphs)-1], "\n") {
			key, value, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			switch strings.TrimSpace(key) {
			case FleetTrailer:
				fleet = strings.TrimSpace(value)
			case SourceRevisionTrailer:
				revision = strings.TrimSpace(value)
			}
		}
	}
	if fleet == "" {
		if m := defaultSubject.FindStringSubmatch(subject(message)); m != nil {
			fleet, revision = m[1], m[2]
			if revision == "no applied revision" {
				revision = ""
			}
		}
	}
	return fleet, revision
}
