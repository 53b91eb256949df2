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
	"sync"

	"go.yaml.in/yaml/v3"
)

// revisionPattern matches Flux source revisions ("main@sha1:0a1b…", "sha256:…").
var revisionPattern = regexp.MustCompile(`(?:[^\s"'@|()\[\]]+@)?sha(?:1|256):[0-9a-f]{7,64}`)

// maskRevisions replaces source revisions by a placeholder. A change that only moves
// revisions is not a change of observed state: otherwise a status commit on the branch the
// Fleet watches would make a new revision, a new status, a new commit, and so on.
func maskRevisions(b []byte) []byte {
	return revisionPattern.ReplaceAll(b, []byte("<revision>"))
}

// decisionForm is the part of a file that decides a commit: the file with its source
// revisions masked and, in a status document, without the conditions' messages. Messages
// are CAPI's and the controllers' running commentary ("2 of 3 Machines have healthy control
// plane components"): they change wording while nothing a reviewer follows (phase, versions,
// readiness, reasons, registration) moves. The written document still carries the latest
// message; it reaches Git with the next commit made for a change of state. Messages of the
// conditions in decidingMessages do decide: they say why an object is stuck or refused, and
// change only with a new input (a downgrade refused, then a skipped minor refused, is the
// same reason with another rule).
func decisionForm(doc []byte) []byte {
	masked := maskRevisions(doc)
	if !bytes.HasPrefix(doc, []byte(Header+"\n")) {
		return masked
	}
	var root yaml.Node
	if err := yaml.Unmarshal(masked, &root); err != nil || len(root.Content) != 1 {
		return masked
	}
	conds := mappingValue(mappingValue(root.Content[0], "status"), "conditions")
	if conds == nil || conds.Kind != yaml.SequenceNode {
		return masked
	}
	for _, c := range conds.Content {
		if c.Kind != yaml.MappingNode {
			continue
		}
		if t := mappingValue(c, "type"); t != nil && slices.Contains(decidingMessages, t.Value) {
			continue
		}
		for i := 0; i+1 < len(c.Content); i += 2 {
			if c.Content[i].Value == "message" {
				c.Content = slices.Delete(c.Content, i, i+2)
				break
			}
		}
	}
	out, err := yaml.Marshal(&root)
	if err != nil {
		return masked
	}
	return out
}

// decidingMessages are the condition types whose message is state, not commentary: Stalled
// (why nothing moves until an input changes) and the Fleet's UpgradeRefused (which clusters
// refuse their change, by which rule).
var decidingMessages = []string{"Stalled", "UpgradeRefused"}

// mappingValue is the value of key in a YAML mapping node, nil when n is not a mapping or
// has no such key.
func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// StateDigest is a digest of the files' decision forms (revisions masked, condition
// messages left out): equal digests mean no change a status commit would be made for.
func StateDigest(files map[string][]byte) string {
	h := sha256.New()
	for _, name := range slices.Sorted(maps.Keys(files)) {
		h.Write([]byte(name))
		h.Write([]byte{0})
		d := decisionDigest(files[name])
		h.Write(d[:])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// decisions memoizes the digest of each document's decision form by the digest of its
// bytes: a pass renders mostly the same documents as the last, and parsing a thousand of
// them on every pass cost more than rendering them.
var decisions = struct {
	sync.Mutex
	m map[[32]byte][32]byte
}{m: map[[32]byte][32]byte{}}

const maxDecisions = 1 << 15

func decisionDigest(doc []byte) [32]byte {
	key := sha256.Sum256(doc)
	decisions.Lock()
	d, ok := decisions.m[key]
	decisions.Unlock()
	if ok {
		return d
	}
	d = sha256.Sum256(decisionForm(doc))
	decisions.Lock()
	if len(decisions.m) >= maxDecisions {
		clear(decisions.m)
	}
	decisions.m[key] = d
	decisions.Unlock()
	return d
}

// Plan is the status commit of one Fleet on top of a tree: every document that differs,
// documents of the Fleet's objects that are gone (deleted), and the README rebuilt from the
// result. Empty when the observed state did not change: revisions and condition messages
// alone do not count (see decisionForm), and neither does a README that only reflects them.
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
		if !ok || !bytes.Equal(decisionForm(have), decisionForm(doc)) {
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
		// The README is made from the documents, so a change of state shows in them; it
		// decides a commit only when it is missing.
		if tree[readme] == nil {
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
