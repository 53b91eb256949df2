package controllers

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/fluxcd/pkg/runtime/patch"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
	"github.com/dcn-ssu/lkaas/internal/gitstatus"
)

// StatusWrittenCondition is True when the Fleet's observed status is in Git.
const StatusWrittenCondition = gitstatus.WriterCondition

// Reasons of StatusWrittenCondition.
const (
	ReasonStatusPushed      = "Pushed"
	ReasonStatusUpToDate    = "UpToDate"
	ReasonStatusWriteFailed = "WriteFailed"
)

// statusWriterFieldManager owns the Fleet's status.writeBack and StatusWritten.
const statusWriterFieldManager = "lkaas-status-writer"

// StatusWriter commits each Fleet's observed status (its own, its Clusters' and its
// LogicalClusters') to Git when spec.writeBack asks: snapshot, render documents, compare
// with what Git last got, commit and push the difference, report.
type StatusWriter struct {
	client.Client
	Cache     client.Reader
	APIReader client.Reader
	Events    events.EventRecorder
	Writer    *gitstatus.Writer
	// Window gathers the changes of a burst (many clusters changing phase) into one commit;
	// default 2 seconds.
	Window time.Duration
	// Hold keeps a climbing cluster's ladder steps out of Git until it settles, for at most
	// this long (gitstatus.Hold); 0 commits every step. --status-hold, default 5 minutes.
	Hold time.Duration
	// CredentialsOverHTTP lets credentials go to a plain-HTTP Git URL (local servers only).
	CredentialsOverHTTP bool
	// AllowCrossNamespaceRefs lets a Fleet's status go to the repository of a GitRepository
	// in another namespace (--allow-cross-namespace-refs, as for the Fleet controller).
	AllowCrossNamespaceRefs bool

	mu sync.Mutex
	// inGit is, per Fleet, the state digest of what Git holds as far as this process knows;
	// equal digests skip Git altogether.
	inGit map[types.NamespacedName]string
	// holds are the Fleets' holds of climbing clusters.
	holds map[types.NamespacedName]*gitstatus.Hold
}

func (r *StatusWriter) window() time.Duration {
	if r.Window > 0 {
		return r.Window
	}
	return 2 * time.Second
}

// Reconcile writes one Fleet's status to Git if its observed state changed.
func (r *StatusWriter) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	fleet := &automationv1alpha1.Fleet{}
	if err := r.Get(ctx, req.NamespacedName, fleet); err != nil {
		r.forget(req.NamespacedName)
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if fleet.Spec.WriteBack == nil || fleet.Spec.Suspend || !fleet.DeletionTimestamp.IsZero() {
		r.forget(req.NamespacedName)
		return ctrl.Result{}, nil
	}

	snapshot, err := r.snapshot(ctx, fleet)
	if err != nil {
		return ctrl.Result{}, err
	}
	docs, err := gitstatus.Documents(fleet.Spec.WriteBack.Path, snapshot)
	if err != nil {
		return ctrl.Result{}, err
	}
	// The Fleet's generation is part of what is remembered: a new write-back branch or URL
	// must be written even when the observed state did not change.
	digest := fmt.Sprintf("%s@%d", gitstatus.StateDigest(docs), fleet.Generation)
	if r.known(req.NamespacedName) == digest {
		return ctrl.Result{}, nil // Git already holds this state
	}

	patcher := patch.NewSerialPatcher(fleet, r.Client)
	defer func() {
		if err := patcher.Patch(ctx, fleet, patch.WithOwnedConditions{Conditions: []string{StatusWrittenCondition}},
			patch.WithFieldOwner(statusWriterFieldManager)); ignoreNotFound(err) != nil {
			retErr = kerrors.NewAggregate([]error{retErr, err})
		}
	}()

	res, held, err := r.write(ctx, fleet, snapshot, docs, r.holdOf(req.NamespacedName))
	if fleet.Status.WriteBack == nil {
		fleet.Status.WriteBack = &automationv1alpha1.WriteBackStatus{}
	}
	if err != nil {
		fleet.Status.WriteBack.LastError = err.Error()
		conditions.MarkFalse(fleet, StatusWrittenCondition, ReasonStatusWriteFailed, "%s", err)
		r.Events.Eventf(fleet, nil, corev1.EventTypeWarning, ReasonStatusWriteFailed, "WriteStatus", "%s", err)
		return ctrl.Result{}, err
	}
	// While a climbing cluster is held, Git does not hold this state yet: the next pass must
	// look again, and one comes when the first hold ends.
	if held > 0 {
		r.remember(req.NamespacedName, "")
		result = ctrl.Result{RequeueAfter: held}
	} else {
		r.remember(req.NamespacedName, digest)
	}
	fleet.Status.WriteBack.LastError = ""
	if res.Commit == "" {
		conditions.MarkTrue(fleet, StatusWrittenCondition, ReasonStatusUpToDate, "the status branch already holds the observed state%s", heldNote(held))
		return result, nil
	}
	now := metav1.Now()
	fleet.Status.WriteBack.LastPushedCommit, fleet.Status.WriteBack.LastPushTime = res.Commit, &now
	conditions.MarkTrue(fleet, StatusWrittenCondition, ReasonStatusPushed, "pushed status commit %s%s", res.Commit, heldNote(held))
	r.Events.Eventf(fleet, nil, corev1.EventTypeNormal, ReasonStatusPushed, "WriteStatus", "Pushed status commit %s (%d attempts)", res.Commit, res.Attempts)
	return result, nil
}

// heldNote completes the StatusWritten message while climbing clusters' steps are held back.
func heldNote(held time.Duration) string {
	if held <= 0 {
		return ""
	}
	return "; the steps of clusters still climbing their ladder follow when they settle (at the latest in " + held.Round(time.Second).String() + ")"
}

// snapshot reads the Fleet's Clusters and LogicalClusters from the cache.
func (r *StatusWriter) snapshot(ctx context.Context, fleet *automationv1alpha1.Fleet) (gitstatus.Snapshot, error) {
	s := gitstatus.Snapshot{Fleet: fleet}
	var clusters automationv1alpha1.ClusterList
	if err := r.Cache.List(ctx, &clusters, fleetSelector(fleet)); err != nil {
		return s, err
	}
	var lcs intentv1.LogicalClusterList
	if err := r.Cache.List(ctx, &lcs, fleetSelector(fleet)); err != nil {
		return s, err
	}
	s.Clusters, s.LogicalClusters = clusters.Items, lcs.Items
	return s, nil
}

// write commits the documents on top of the status branch, replanning on the new head
// when a push loses a race. Climbing clusters' steps are held back (hold); held is how long
// until the first hold ends, 0 when nothing is held.
func (r *StatusWriter) write(ctx context.Context, fleet *automationv1alpha1.Fleet, snapshot gitstatus.Snapshot, docs map[string][]byte,
	hold *gitstatus.Hold) (res gitstatus.Result, held time.Duration, err error) {
	target, err := r.writeTarget(ctx, fleet)
	if err != nil {
		return gitstatus.Result{}, 0, err
	}
	message, err := commitMessage(fleet, snapshot)
	if err != nil {
		return gitstatus.Result{}, 0, err
	}
	owner := fleet.Namespace + "/" + fleet.Name
	dir := fleet.Spec.WriteBack.Path
	res, err = r.Writer.Write(ctx, target, dir, func(tree map[string][]byte) (map[string][]byte, string, error) {
		var toWrite map[string][]byte
		toWrite, held = hold.Filter(docs, tree, time.Now())
		changes, err := gitstatus.Plan(dir, owner, toWrite, tree)
		if err != nil || len(changes) == 0 {
			return nil, "", err
		}
		return changes, message + changedFiles(changes) + "\n" + gitstatus.Trailers(owner, gitstatus.Revision(snapshot)), nil
	})
	return res, held, err
}

// DefaultStatusMessage is the commit message template when the Fleet gives none.
const DefaultStatusMessage = `lkaas: status of Fleet {{ .Fleet }} at {{ .Revision }}`

// statusMessageData is what a message template sees.
type statusMessageData struct {
	Fleet    string // namespace/name
	Revision string // the source revision the status reflects
	Clusters int
	Ready    int
}

func commitMessage(fleet *automationv1alpha1.Fleet, s gitstatus.Snapshot) (string, error) {
	text := fleet.Spec.WriteBack.MessageTemplate
	if text == "" {
		text = DefaultStatusMessage
	}
	tmpl, err := template.New("message").Option("missingkey=error").Parse(text)
	if err != nil {
		return "", fmt.Errorf("spec.writeBack.messageTemplate: %w", err)
	}
	data := statusMessageData{Fleet: fleet.Namespace + "/" + fleet.Name, Revision: gitstatus.Revision(s), Clusters: len(s.Clusters)}
	if data.Revision == "" {
		data.Revision = "no applied revision"
	}
	for i := range s.Clusters {
		if s.Clusters[i].Status.Phase == automationv1alpha1.ClusterPhaseReady {
			data.Ready++
		}
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, data); err != nil {
		return "", fmt.Errorf("spec.writeBack.messageTemplate: %w", err)
	}
	return strings.TrimSpace(b.String()), nil
}

// changedFiles lists a commit's files under its subject, so `git log` tells what moved.
func changedFiles(changes map[string][]byte) string {
	var b strings.Builder
	b.WriteString("\n\n")
	for _, name := range slices.Sorted(maps.Keys(changes)) {
		verb := "update"
		if changes[name] == nil {
			verb = "delete"
		}
		fmt.Fprintf(&b, "%s %s\n", verb, name)
	}
	return b.String()
}

func (r *StatusWriter) known(key types.NamespacedName) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.inGit[key]
}

func (r *StatusWriter) remember(key types.NamespacedName, digest string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.inGit == nil {
		r.inGit = map[types.NamespacedName]string{}
	}
	r.inGit[key] = digest
}

func (r *StatusWriter) forget(key types.NamespacedName) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.inGit, key)
	delete(r.holds, key)
}

// holdOf is the Fleet's hold of climbing clusters (nil when the writer holds nothing).
func (r *StatusWriter) holdOf(key types.NamespacedName) *gitstatus.Hold {
	if r.Hold <= 0 {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.holds == nil {
		r.holds = map[types.NamespacedName]*gitstatus.Hold{}
	}
	h, ok := r.holds[key]
	if !ok || h.Max != r.Hold {
		h = &gitstatus.Hold{Max: r.Hold}
		r.holds[key] = h
	}
	return h
}
