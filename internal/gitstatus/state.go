package gitstatus

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"
)

// revisionPattern matches Flux source revisions ("main@sha1:0a1b…", "sha256:…").
var revisionPattern = regexp.MustCompile(`(?:[^\s"'@|()\[\]]+@)?sha(?:1|256):[0-9a-f]{7,64}`)

// maskRevisions replaces source revisions by a placeholder. A change that only moves
// revisions is not a change of observed state: otherwise a status commit on the branch the
// Fleet watches would make a new revision, a new status, a new commit, and so on.
func maskRevisions(b []byte) []byte {
	return revisionPattern.ReplaceAll(b, []byte("<revision>"))
}

// StateDigest is a digest of files with their source revisions masked: equal digests mean
// the same observed state.
func StateDigest(files map[string][]byte) string {
	h := sha256.New()
	for _, name := range slices.Sorted(maps.Keys(files)) {
		h.Write([]byte(name))
		h.Write([]byte{0})
		h.Write(maskRevisions(files[name]))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Plan is the status commit of one Fleet on top of a tree: every document that differs,
// documents of the Fleet's objects that are gone (deleted), and the README rebuilt from the
// result. Empty when the observed state did not change (revisions alone do not count).
func Plan(dir, fleet string, docs, tree map[string][]byte) (map[string][]byte, error) {
	dir, err := Dir(dir)
	if err != nil {
		return nil, err
	}
	readme := dir + ReadmeName
	changes := map[string][]byte{}
	stateChanged := false
	for name, doc := range docs {
		have, ok := tree[name]
		if ok && bytes.Equal(have, doc) {
			continue
		}
		changes[name] = doc
		if !ok || !bytes.Equal(maskRevisions(have), maskRevisions(doc)) {
			stateChanged = true
		}
	}
	for name, have := range tree {
		if _, wanted := docs[name]; wanted || name == readme {
			continue
		}
		if owner, ok := FleetOf(have); ok && owner == fleet {
			changes[name] = nil
			stateChanged = true
		}
	}

	after := maps.Clone(tree)
	delete(after, readme)
	for name, doc := range changes {
		if doc == nil {
			delete(after, name)
		} else {
			after[name] = doc
		}
	}
	summary := Summary(dir, statusDocuments(after, dir))
	switch {
	case summary == nil && tree[readme] != nil:
		changes[readme] = nil
	case summary != nil && !bytes.Equal(summary, tree[readme]):
		changes[readme] = summary
		if !bytes.Equal(maskRevisions(summary), maskRevisions(tree[readme])) {
			stateChanged = true
		}
	}
	if !stateChanged {
		return nil, nil
	}
	return changes, nil
}

// statusDocuments keeps the YAML files under dir (the README and other files are not
// documents).
func statusDocuments(files map[string][]byte, dir string) map[string][]byte {
	out := map[string][]byte{}
	for name, data := range files {
		if strings.HasPrefix(name, dir) && path.Ext(name) == ".yaml" {
			out[name] = data
		}
	}
	return out
}
