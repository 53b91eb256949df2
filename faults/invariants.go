package faults

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"
)

// Each check returns the violations it found, one line each; none means the invariant holds.

// Applied is what the suite reads of a Fleet's objects once the plane has recovered.
type Applied struct {
	// WantClusters are the clusters the repository declares (standalone and members).
	WantClusters []string
	// Clusters are the L-KaaS Clusters in the namespace.
	Clusters []string
	// CAPIClusters maps each CAPI Cluster to the L-KaaS Cluster that owns it ("" when none).
	CAPIClusters map[string]string
	// Inventory is the Fleet's inventory (object IDs).
	Inventory []string
	// Labelled maps the ID of each object that carries the Fleet's labels to the ID of the
	// object that owns it as its controller ("" when none): a LogicalCluster's member
	// Clusters carry the labels and belong to the LogicalCluster, not to the inventory.
	Labelled map[string]string
}

// CheckApplied: every cluster in Git exists once as an L-KaaS Cluster with one CAPI Cluster
// it owns; nothing else exists (no orphan); the Fleet's inventory lists exactly the objects
// that carry its labels.
func CheckApplied(a Applied) []string {
	var out []string
	want := set(a.WantClusters)
	have := set(a.Clusters)
	for _, c := range sorted(want) {
		if !have[c] {
			out = append(out, "lost: cluster "+c+" is in Git but not applied")
		}
	}
	for _, c := range sorted(have) {
		if !want[c] {
			out = append(out, "orphan: cluster "+c+" is applied but not in Git")
		}
	}
	owned := map[string]int{}
	for capi, owner := range a.CAPIClusters {
		switch {
		case owner == "":
			out = append(out, "orphan: CAPI cluster "+capi+" has no L-KaaS owner")
		case !want[owner]:
			out = append(out, "orphan: CAPI cluster "+capi+" belongs to "+owner+", which is not in Git")
		}
		owned[owner]++
	}
	for _, c := range sorted(want) {
		if n := owned[c]; n != 1 {
			out = append(out, fmt.Sprintf("cluster %s has %d CAPI clusters, want 1", c, n))
		}
	}
	inv := set(a.Inventory)
	for _, id := range sorted(keys(a.Labelled)) {
		owner := a.Labelled[id]
		_, ownerLabelled := a.Labelled[owner]
		if !inv[id] && (owner == "" || !inv[owner] && !ownerLabelled) {
			out = append(out, "orphan: "+id+" carries the Fleet's labels but is neither in its inventory nor owned by what is")
		}
	}
	for _, id := range sorted(inv) {
		if _, ok := a.Labelled[id]; !ok {
			out = append(out, "lost: "+id+" is in the inventory but not on the API server")
		}
	}
	return out
}

// Condition is one condition of one object, as the suite reads it after recovery.
type Condition struct {
	Object, Type, Status, Reason, Message string
}

// CheckConditions: after recovery every object is Ready, and no condition carries the
// reason of a fault (the fault is over; a condition still saying otherwise is left wrong).
func CheckConditions(conds []Condition) []string {
	var out []string
	for _, c := range conds {
		if c.Type == "Ready" && c.Status != "True" {
			out = append(out, fmt.Sprintf("%s: Ready=%s %s: %s", c.Object, c.Status, c.Reason, c.Message))
			continue
		}
		if c.Status == "True" && (c.Type == "Stalled" || c.Type == "RolloutHalted") {
			out = append(out, fmt.Sprintf("%s: %s=True %s: %s", c.Object, c.Type, c.Reason, c.Message))
		}
	}
	return out
}

// AuditEvent is one request the API server recorded (its audit log, Metadata level).
type AuditEvent struct {
	Verb      string    `json:"verb"`
	UserAgent string    `json:"userAgent"`
	User      string    `json:"user"`      // the impersonated user when there is one
	Requester string    `json:"requester"` // who authenticated (a controller replica)
	Object    string    `json:"object"`    // group/resource/namespace/name
	Code      int       `json:"code"`
	DryRun    bool      `json:"dryRun"`
	Time      time.Time `json:"time"`
}

// ReadAudit parses the API server's audit log (one JSON event per line).
func ReadAudit(r io.Reader) ([]AuditEvent, error) {
	var out []AuditEvent
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 1<<20), 16<<20)
	for s.Scan() {
		var e struct {
			Verb       string `json:"verb"`
			UserAgent  string `json:"userAgent"`
			RequestURI string `json:"requestURI"`
			User       struct {
				Username string `json:"username"`
			} `json:"user"`
			ImpersonatedUser *struct {
				Username string `json:"username"`
			} `json:"impersonatedUser"`
			ObjectRef *struct {
				APIGroup    string `json:"apiGroup"`
				Resource    string `json:"resource"`
				Namespace   string `json:"namespace"`
				Name        string `json:"name"`
				Subresource string `json:"subresource"`
			} `json:"objectRef"`
			ResponseStatus *struct {
				Code int `json:"code"`
			} `json:"responseStatus"`
			StageTimestamp time.Time `json:"stageTimestamp"`
		}
		if err := json.Unmarshal(s.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("audit log: %w", err)
		}
		ev := AuditEvent{Verb: e.Verb, UserAgent: e.UserAgent, User: e.User.Username, Requester: e.User.Username, Time: e.StageTimestamp,
			DryRun: strings.Contains(e.RequestURI, "dryRun=")}
		if e.ImpersonatedUser != nil {
			ev.User = e.ImpersonatedUser.Username
		}
		if e.ObjectRef != nil {
			res := e.ObjectRef.Resource
			if e.ObjectRef.Subresource != "" {
				res += "/" + e.ObjectRef.Subresource
			}
			// CAPI's and L-KaaS's Clusters share the resource name, namespace and name.
			ev.Object = e.ObjectRef.APIGroup + "/" + res + "/" + e.ObjectRef.Namespace + "/" + e.ObjectRef.Name
		}
		if e.ResponseStatus != nil {
			ev.Code = e.ResponseStatus.Code
		}
		out = append(out, ev)
	}
	return out, s.Err()
}

// Write reports a request that changes something (dry runs excluded).
func (e AuditEvent) Write() bool {
	switch e.Verb {
	case "create", "update", "patch", "delete", "deletecollection":
		return !e.DryRun
	}
	return false
}

// Created reports a request that created its object: a create, or a server-side apply that
// made a new one (201).
func (e AuditEvent) Created() bool {
	return !e.DryRun && (e.Verb == "create" || e.Verb == "patch") && e.Code == 201
}

// ByLKaaS reports a request of the L-KaaS controller (its user agent starts with "lkaas").
func (e AuditEvent) ByLKaaS() bool { return strings.HasPrefix(e.UserAgent, "lkaas") }

// CheckCreatedOnce: no object in namespace was created twice by L-KaaS (a create after a
// delete of the same name, the signature of a step done again from scratch).
func CheckCreatedOnce(events []AuditEvent, namespace string) []string {
	created := map[string]int{}
	for _, e := range events {
		if e.ByLKaaS() && e.Created() && strings.Contains(e.Object, "/"+namespace+"/") {
			created[e.Object]++
		}
	}
	var out []string
	for _, obj := range sorted(keys(created)) {
		if n := created[obj]; n > 1 {
			out = append(out, fmt.Sprintf("duplicated: %s created %d times", obj, n))
		}
	}
	return out
}

// CountWrites counts L-KaaS's writes in namespace at or after since.
func CountWrites(events []AuditEvent, namespace string, since time.Time) int {
	n := 0
	for _, e := range events {
		if e.ByLKaaS() && e.Write() && !e.Time.Before(since) && strings.Contains(e.Object, "/"+namespace+"/") {
			n++
		}
	}
	return n
}

// Sample is one reading, during a rollout, of which members are upgrading and which are done.
type Sample struct {
	At time.Time
	// Upgrading members: asked for the new version, not yet running it everywhere.
	Upgrading []string
	// Done members: running the new version.
	Done []string
}

// CheckWaves: a member upgrades only after every member of every earlier wave is done, and
// never more than maxUnavailable members of a wave upgrade at once.
func CheckWaves(samples []Sample, waveOf map[string]int, maxUnavailable int) []string {
	var out []string
	for _, s := range samples {
		done := set(s.Done)
		for _, m := range s.Upgrading {
			for other, w := range waveOf {
				if w < waveOf[m] && !done[other] {
					out = append(out, fmt.Sprintf("%s: %s (wave %d) upgrading while %s (wave %d) is not done",
						s.At.Format("15:04:05.000"), m, waveOf[m], other, w))
				}
			}
		}
		perWave := map[int]int{}
		for _, m := range s.Upgrading {
			perWave[waveOf[m]]++
		}
		for w, n := range perWave {
			if n > maxUnavailable {
				out = append(out, fmt.Sprintf("%s: %d members of wave %d upgrading at once (maxUnavailable %d): %v",
					s.At.Format("15:04:05.000"), n, w, maxUnavailable, s.Upgrading))
			}
		}
	}
	return out
}

// StatusCommit is one commit of the status branch, oldest first.
type StatusCommit struct {
	Hash    string
	Parents []string
	// Changed are the paths the commit changed.
	Changed []string
}

// CheckStatusHistory: the branch only moved forward (each commit's parent is the previous
// one: no force push, nothing rewritten) and every commit changed something.
func CheckStatusHistory(commits []StatusCommit) []string {
	var out []string
	for i, c := range commits {
		if i > 0 && !slices.Contains(c.Parents, commits[i-1].Hash) {
			out = append(out, fmt.Sprintf("history rewritten: %s does not follow %s", short(c.Hash), short(commits[i-1].Hash)))
		}
		if len(c.Changed) == 0 {
			out = append(out, "empty commit "+short(c.Hash))
		}
	}
	return out
}

// CheckRegisteredOnce: EMCO holds exactly the wanted clusters, and made each of them with
// one successful create (creates counts the emulator's 201 answers to cluster creations).
func CheckRegisteredOnce(creates int, registered, want []string) []string {
	var out []string
	have, wanted := set(registered), set(want)
	for _, c := range sorted(wanted) {
		if !have[c] {
			out = append(out, "lost: "+c+" is not registered with EMCO")
		}
	}
	for _, c := range sorted(have) {
		if !wanted[c] {
			out = append(out, "orphan: "+c+" is registered with EMCO but not wanted")
		}
	}
	if creates != len(want) {
		out = append(out, fmt.Sprintf("duplicated: %d successful cluster creations in EMCO for %d clusters", creates, len(want)))
	}
	return out
}

// CheckDeregisteredFirst: a cluster leaving is deregistered from EMCO before anything asks the
// API server to delete its CAPI Cluster (EMCO would otherwise place work on a cluster being torn
// down). Zero times mean "never happened".
func CheckDeregisteredFirst(cluster string, deregistered, capiDeleteAsked time.Time) []string {
	switch {
	case deregistered.IsZero():
		return []string{"lost: " + cluster + " was never deregistered from EMCO"}
	case capiDeleteAsked.IsZero():
		return nil
	case capiDeleteAsked.Before(deregistered):
		return []string{fmt.Sprintf("order: %s's CAPI Cluster was deleted %s before its EMCO deregistration",
			cluster, deregistered.Sub(capiDeleteAsked).Round(time.Millisecond))}
	}
	return nil
}

// FirstDelete is the time of the first delete of object (group/resource/namespace/name) in
// the audit log, zero when there is none.
func FirstDelete(events []AuditEvent, object string) time.Time {
	for _, e := range events {
		if e.Verb == "delete" && e.Object == object {
			return e.Time
		}
	}
	return time.Time{}
}

// CheckOneWriterAtATime: L-KaaS's writes in namespace come from one replica at a time. Sorted
// by time, once another replica has written, the one before it never writes again (a lease
// handed over, never shared); a replica restarted under the same name counts as the same one.
func CheckOneWriterAtATime(events []AuditEvent, namespace string) []string {
	var writes []AuditEvent
	for _, e := range events {
		if e.ByLKaaS() && e.Write() && strings.Contains(e.Object, "/"+namespace+"/") {
			writes = append(writes, e)
		}
	}
	sort.SliceStable(writes, func(i, j int) bool { return writes[i].Time.Before(writes[j].Time) })
	var out []string
	handedOver := map[string]time.Time{}
	current := ""
	for _, w := range writes {
		if w.Requester == current {
			continue
		}
		if at, ok := handedOver[w.Requester]; ok {
			out = append(out, fmt.Sprintf("two writers: %s wrote %s %s at %s after %s had taken over at %s",
				w.Requester, w.Verb, w.Object, w.Time.Format(time.RFC3339Nano), current, at.Format(time.RFC3339Nano)))
		}
		if current != "" {
			handedOver[current] = w.Time
		}
		current = w.Requester
	}
	return out
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

func set(xs []string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func sorted(m any) []string {
	var out []string
	switch v := m.(type) {
	case map[string]bool:
		out = keys(v)
	case []string:
		out = slices.Clone(v)
	}
	sort.Strings(out)
	return out
}
