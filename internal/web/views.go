package web

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
	"github.com/dcn-ssu/lkaas/controllers"
	"github.com/dcn-ssu/lkaas/internal/apply"
	"github.com/dcn-ssu/lkaas/internal/gitstatus"
)

var defaultLocationLabels = []string{automationv1alpha1.LocationLabel, automationv1alpha1.RegionLabel}

// emcoErrorReasons are the Registered reasons that mean EMCO refused or did not answer,
// as opposed to waiting for the cluster.
var emcoErrorReasons = map[string]bool{
	controllers.ReasonEndpointNotFound: true, controllers.ReasonEMCOUnavailable: true,
	controllers.ReasonRegistrationFailed: true, controllers.ReasonNameTaken: true,
	controllers.ReasonLogicalCloudBusy: true,
}

// Attention is one thing a person should look at, listed first on the overview.
type Attention struct {
	Kind, Namespace, Name, Link string
	What                        string // halted rollout, validation failed, …
	Message                     string
}

// Ready is a Ready condition, shortened for a table cell.
type Ready struct {
	Status, Reason, Message string
}

func readyOf(conds []metav1.Condition) Ready {
	c := apimeta.FindStatusCondition(conds, fluxmeta.ReadyCondition)
	if c == nil {
		return Ready{Status: "Unknown", Reason: "NotReported"}
	}
	return Ready{Status: string(c.Status), Reason: c.Reason, Message: c.Message}
}

func conditionTrue(conds []metav1.Condition, t string) *metav1.Condition {
	if c := apimeta.FindStatusCondition(conds, t); c != nil && c.Status == metav1.ConditionTrue {
		return c
	}
	return nil
}

// PhaseCount is a phase and how many clusters are in it.
type PhaseCount struct {
	Phase string
	Count int32
}

// FleetRow is a Fleet on the overview.
type FleetRow struct {
	Namespace, Name string
	Revision        string
	Ready           Ready
	Phases          []PhaseCount
	LastCommit      string
	LastPush        time.Time
	WriteError      string
	Suspended       bool
}

// LogicalClusterRow is a logical cluster on the overview.
type LogicalClusterRow struct {
	Namespace, Name string
	Phase           string
	ReadyMembers    int32
	TotalMembers    int32
	CurrentWave     string
	Ready           Ready
}

// ClusterRow is a cluster outside any logical cluster, on the overview.
type ClusterRow struct {
	Namespace, Name string
	Phase           string
	Version         string
	Registered      bool
}

// Overview is the overview page.
type Overview struct {
	Attention       []Attention
	Fleets          []FleetRow
	LogicalClusters []LogicalClusterRow
	Clusters        []ClusterRow
	Total           int
}

func scoped(scope string) []client.ListOption {
	if scope == "" {
		return nil
	}
	return []client.ListOption{client.InNamespace(scope)}
}

func (s *Server) overview(ctx context.Context, _ *http.Request, scope string) (any, error) {
	var fleets automationv1alpha1.FleetList
	var clusters automationv1alpha1.ClusterList
	var lcs intentv1.LogicalClusterList
	for _, l := range []client.ObjectList{&fleets, &clusters, &lcs} {
		if err := s.reader.List(ctx, l, scoped(scope)...); err != nil {
			return nil, err
		}
	}
	out := &Overview{Total: len(clusters.Items)}
	for i := range fleets.Items {
		f := &fleets.Items[i]
		row := FleetRow{Namespace: f.Namespace, Name: f.Name, Revision: f.Status.LastAppliedRevision,
			Ready: readyOf(f.Status.Conditions), Suspended: f.Spec.Suspend}
		for _, p := range automationv1alpha1.ClusterPhases {
			if n := f.Status.Clusters[string(p)]; n > 0 {
				row.Phases = append(row.Phases, PhaseCount{Phase: string(p), Count: n})
			}
		}
		if wb := f.Status.WriteBack; wb != nil {
			row.LastCommit, row.WriteError = wb.LastPushedCommit, wb.LastError
			if wb.LastPushTime != nil {
				row.LastPush = wb.LastPushTime.Time
			}
		}
		out.Fleets = append(out.Fleets, row)
		link := fleetLink(f.Namespace, f.Name)
		if row.Ready.Status == string(metav1.ConditionFalse) && row.Ready.Reason == controllers.ReasonValidationFailed {
			out.Attention = append(out.Attention, Attention{Kind: "Fleet", Namespace: f.Namespace, Name: f.Name, Link: link, What: "validation failed", Message: row.Ready.Message})
		}
		if c := conditionTrue(f.Status.Conditions, controllers.DeletionHeldCondition); c != nil {
			out.Attention = append(out.Attention, Attention{Kind: "Fleet", Namespace: f.Namespace, Name: f.Name, Link: link, What: "deletion held", Message: c.Message})
		}
		if c := apimeta.FindStatusCondition(f.Status.Conditions, gitstatus.WriterCondition); c != nil && c.Status == metav1.ConditionFalse {
			out.Attention = append(out.Attention, Attention{Kind: "Fleet", Namespace: f.Namespace, Name: f.Name, Link: link, What: "status not written", Message: c.Message})
		}
	}
	for i := range lcs.Items {
		lc := &lcs.Items[i]
		row := LogicalClusterRow{Namespace: lc.Namespace, Name: lc.Name, Phase: string(lc.Status.Phase),
			ReadyMembers: lc.Status.ReadyMembers, TotalMembers: lc.Status.TotalMembers, Ready: readyOf(lc.Status.Conditions)}
		if lc.Status.CurrentWave != nil {
			row.CurrentWave = itoa(*lc.Status.CurrentWave)
		}
		out.LogicalClusters = append(out.LogicalClusters, row)
		link := logicalClusterLink(lc.Namespace, lc.Name)
		if c := conditionTrue(lc.Status.Conditions, controllers.RolloutHaltedCondition); c != nil {
			out.Attention = append(out.Attention, Attention{Kind: "LogicalCluster", Namespace: lc.Namespace, Name: lc.Name, Link: link, What: "rollout halted", Message: c.Message})
		}
		if c := apimeta.FindStatusCondition(lc.Status.Conditions, controllers.RegisteredCondition); c != nil && c.Status == metav1.ConditionFalse && emcoErrorReasons[c.Reason] {
			out.Attention = append(out.Attention, Attention{Kind: "LogicalCluster", Namespace: lc.Namespace, Name: lc.Name, Link: link, What: "EMCO error", Message: c.Reason + ": " + c.Message})
		}
	}
	for i := range clusters.Items {
		c := &clusters.Items[i]
		link := clusterLink(c.Namespace, c.Name)
		if c.Status.Phase == automationv1alpha1.ClusterPhaseFailed {
			out.Attention = append(out.Attention, Attention{Kind: "Cluster", Namespace: c.Namespace, Name: c.Name, Link: link, What: "failed", Message: readyOf(c.Status.Conditions).Message})
		}
		if r := apimeta.FindStatusCondition(c.Status.Conditions, controllers.RegisteredCondition); r != nil && r.Status == metav1.ConditionFalse && emcoErrorReasons[r.Reason] {
			out.Attention = append(out.Attention, Attention{Kind: "Cluster", Namespace: c.Namespace, Name: c.Name, Link: link, What: "EMCO error", Message: r.Reason + ": " + r.Message})
		}
		if c.Labels[automationv1alpha1.LogicalClusterLabel] != "" {
			continue // shown on its logical cluster's page
		}
		out.Clusters = append(out.Clusters, ClusterRow{Namespace: c.Namespace, Name: c.Name, Phase: string(c.Status.Phase),
			Version: c.Status.ControlPlaneVersion, Registered: c.Status.EMCO != nil && c.Status.EMCO.Registered})
	}
	slices.SortFunc(out.Fleets, func(a, b FleetRow) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	slices.SortFunc(out.LogicalClusters, func(a, b LogicalClusterRow) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	slices.SortFunc(out.Clusters, func(a, b ClusterRow) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	slices.SortStableFunc(out.Attention, func(a, b Attention) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Name, b.Name))
	})
	return out, nil
}

// Member is a member cluster drawn as a site.
type Member struct {
	Name, Namespace     string
	Phase               string
	ControlPlaneVersion string
	WorkersVersion      string
	Wave                int32
	Pending             bool
	InFlight            bool
	Registered          bool
	Addons              []automationv1alpha1.AddonStatus
	Ready               Ready
	Missing             bool // in the spec, no Cluster yet
}

// Site is the members at one location.
type Site struct {
	Location string
	Members  []Member
}

// Wave is one rollout wave.
type Wave struct {
	Number   int32
	Current  bool
	State    string // done, rolling, waiting
	InFlight []string
	Waiting  []string
	Members  []string
}

// LogicalClusterPage is the logical-cluster page.
type LogicalClusterPage struct {
	Namespace, Name string
	Phase           string
	Ready           Ready
	Revision        string
	ReadyMembers    int32
	TotalMembers    int32
	Sites           []Site
	Waves           []Wave
	Halted          string // why the rollout stopped, when it did
	LogicalCloud    *intentv1.LogicalCloudRegistration
	CloudName       string
	CloudLevel      string
	Registered      Ready
	Conditions      []metav1.Condition
}

func (s *Server) logicalCluster(ctx context.Context, r *http.Request, _ string) (any, error) {
	ns, name := r.PathValue("namespace"), r.PathValue("name")
	lc := &intentv1.LogicalCluster{}
	if err := s.reader.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, lc); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, errNotFound
		}
		return nil, err
	}
	var members automationv1alpha1.ClusterList
	if err := s.reader.List(ctx, &members, client.InNamespace(ns), client.MatchingLabels{automationv1alpha1.LogicalClusterLabel: name}); err != nil {
		return nil, err
	}
	byName := map[string]*automationv1alpha1.Cluster{}
	for i := range members.Items {
		byName[members.Items[i].Name] = &members.Items[i]
	}
	statusOf := map[string]intentv1.MemberStatus{}
	for _, m := range lc.Status.Members {
		statusOf[m.Name] = m
	}
	page := &LogicalClusterPage{Namespace: ns, Name: name, Phase: string(lc.Status.Phase), Ready: readyOf(lc.Status.Conditions),
		Revision: lc.Status.SourceRevision, ReadyMembers: lc.Status.ReadyMembers, TotalMembers: lc.Status.TotalMembers,
		LogicalCloud: lc.Status.EMCO, CloudName: lc.Status.LogicalCloud, Conditions: lc.Status.Conditions}
	if lc.Spec.LogicalCloud != nil {
		page.CloudLevel = string(lc.Spec.LogicalCloud.Level)
	}
	if c := apimeta.FindStatusCondition(lc.Status.Conditions, controllers.RegisteredCondition); c != nil {
		page.Registered = Ready{Status: string(c.Status), Reason: c.Reason, Message: c.Message}
	}
	if c := conditionTrue(lc.Status.Conditions, controllers.RolloutHaltedCondition); c != nil {
		page.Halted = c.Reason + ": " + c.Message
	}
	sites := map[string]*Site{}
	waves := map[int32]*Wave{}
	for _, spec := range lc.Spec.Clusters {
		m := Member{Name: spec.Name, Namespace: ns, Wave: spec.Wave, Pending: statusOf[spec.Name].Pending}
		location := s.location(spec.Labels)
		if c := byName[spec.Name]; c != nil {
			location = cmp.Or(s.location(c.Labels), location)
			m.Phase = string(c.Status.Phase)
			m.ControlPlaneVersion, m.WorkersVersion = c.Status.ControlPlaneVersion, c.Status.WorkersVersion
			m.Registered = c.Status.EMCO != nil && c.Status.EMCO.Registered
			m.Addons = c.Status.Addons
			m.Ready = readyOf(c.Status.Conditions)
			m.InFlight = inFlight(c)
		} else {
			m.Missing = true
			m.Phase = string(statusOf[spec.Name].Phase)
		}
		location = cmp.Or(location, noLocation)
		if sites[location] == nil {
			sites[location] = &Site{Location: location}
		}
		sites[location].Members = append(sites[location].Members, m)
		if waves[spec.Wave] == nil {
			waves[spec.Wave] = &Wave{Number: spec.Wave}
		}
		w := waves[spec.Wave]
		w.Members = append(w.Members, spec.Name)
		switch {
		case m.InFlight:
			w.InFlight = append(w.InFlight, spec.Name)
		case m.Pending:
			w.Waiting = append(w.Waiting, spec.Name)
		}
	}
	for _, site := range sites {
		page.Sites = append(page.Sites, *site)
	}
	slices.SortFunc(page.Sites, func(a, b Site) int { return cmp.Compare(a.Location, b.Location) })
	for _, w := range waves {
		w.State = waveState(w, lc.Status.CurrentWave, byName)
		w.Current = w.State == "rolling"
		page.Waves = append(page.Waves, *w)
	}
	slices.SortFunc(page.Waves, func(a, b Wave) int { return cmp.Compare(a.Number, b.Number) })
	return page, nil
}

// waveState says where a wave stands: rolling (the current wave), done (below it, or every
// member Ready when nothing rolls), waiting (above the current wave) or not ready.
func waveState(w *Wave, current *int32, byName map[string]*automationv1alpha1.Cluster) string {
	if current != nil {
		switch {
		case w.Number == *current:
			return "rolling"
		case w.Number < *current:
			return "done"
		default:
			return "waiting"
		}
	}
	for _, name := range w.Members {
		if c := byName[name]; c == nil || c.Status.Phase != automationv1alpha1.ClusterPhaseReady {
			return "not ready"
		}
	}
	return "done"
}

// inFlight is a member holding a permit for its current render that it has not finished
// (the rollout planner's own test, read from what the cluster carries).
func inFlight(c *automationv1alpha1.Cluster) bool {
	permit := c.Annotations[automationv1alpha1.RolloutPermitAnnotation]
	return permit != "" && permit == c.Status.RenderHash && c.Annotations[controllers.RolloutPermitTimeAnnotation] != "" &&
		c.Status.Phase != automationv1alpha1.ClusterPhaseReady
}

const noLocation = "(no location label)"

func (s *Server) location(labels map[string]string) string {
	for _, l := range s.opts.LocationLabels {
		if v := labels[l]; v != "" {
			return v
		}
	}
	return ""
}

// OwnedObject is a Cluster API object the cluster owns.
type OwnedObject struct {
	Kind, Name string
	Phase      string
	Version    string
	Ready      Ready
}

// EventRow is one event about the cluster.
type EventRow struct {
	Time   time.Time
	Type   string
	Reason string
	Note   string
	Count  int32
}

// ClusterPage is the cluster page.
type ClusterPage struct {
	Namespace, Name     string
	Phase               string
	Ready               Ready
	Revision            string
	ControlPlaneVersion string
	WorkersVersion      string
	Catalog             string
	LogicalCluster      string
	Location            string
	Fleet               string
	Ladder              []Rung
	Conditions          []metav1.Condition
	Owned               []OwnedObject
	OwnedNote           string
	Addons              []automationv1alpha1.AddonStatus
	EMCO                *automationv1alpha1.EMCORegistration
	Registered          Ready
	Events              []EventRow
	HasKubeconfig       bool
}

// Rung is one step of the readiness ladder.
type Rung struct {
	Type, Status, Reason, Message string
}

// readinessLadder is the order a cluster climbs: CAPI's v1beta2 conditions, then add-ons and
// L-KaaS's own Ready.
var readinessLadder = []string{"InfrastructureReady", "ControlPlaneInitialized", "ControlPlaneAvailable",
	"WorkersAvailable", "Available", controllers.AddonsAppliedCondition, controllers.RegisteredCondition, fluxmeta.ReadyCondition}

// capiKinds are the Cluster API kinds a cluster's render owns and the page lists.
var capiKinds = []schema.GroupVersionKind{
	{Group: "cluster.x-k8s.io", Version: "v1beta2", Kind: "Cluster"},
	{Group: "controlplane.cluster.x-k8s.io", Version: "v1beta2", Kind: "KubeadmControlPlane"},
	{Group: "cluster.x-k8s.io", Version: "v1beta2", Kind: "MachineDeployment"},
}

func (s *Server) cluster(ctx context.Context, r *http.Request, _ string) (any, error) {
	ns, name := r.PathValue("namespace"), r.PathValue("name")
	c := &automationv1alpha1.Cluster{}
	if err := s.reader.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, c); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, errNotFound
		}
		return nil, err
	}
	page := &ClusterPage{Namespace: ns, Name: name, Phase: string(c.Status.Phase), Ready: readyOf(c.Status.Conditions),
		Revision: c.Status.SourceRevision, ControlPlaneVersion: c.Status.ControlPlaneVersion, WorkersVersion: c.Status.WorkersVersion,
		Catalog: c.Spec.ClusterCatalog, LogicalCluster: c.Labels[automationv1alpha1.LogicalClusterLabel],
		Location: s.location(c.Labels), Fleet: c.Labels[apply.FleetNameLabel], Conditions: c.Status.Conditions,
		Addons: c.Status.Addons, EMCO: c.Status.EMCO, HasKubeconfig: c.Status.KubeconfigSecretName != ""}
	for _, t := range readinessLadder {
		rung := Rung{Type: t, Status: "Unknown", Reason: "NotReported"}
		if cond := apimeta.FindStatusCondition(c.Status.Conditions, t); cond != nil {
			rung = Rung{Type: t, Status: string(cond.Status), Reason: cond.Reason, Message: cond.Message}
		}
		page.Ladder = append(page.Ladder, rung)
	}
	if cond := apimeta.FindStatusCondition(c.Status.Conditions, controllers.RegisteredCondition); cond != nil {
		page.Registered = Ready{Status: string(cond.Status), Reason: cond.Reason, Message: cond.Message}
	}
	owned, note := s.ownedObjects(ctx, c)
	page.Owned, page.OwnedNote = owned, note
	events, err := s.eventsOf(ctx, c)
	if err != nil {
		return nil, err
	}
	page.Events = events
	return page, nil
}

// ownedObjects lists the CAPI objects with an owner reference to the cluster. A kind the API
// server does not serve (CAPI not installed) is skipped and said.
func (s *Server) ownedObjects(ctx context.Context, c *automationv1alpha1.Cluster) ([]OwnedObject, string) {
	var out []OwnedObject
	var missing []string
	for _, gvk := range capiKinds {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err := s.reader.List(ctx, list, client.InNamespace(c.Namespace)); err != nil {
			missing = append(missing, gvk.Kind)
			continue
		}
		for _, item := range list.Items {
			if !ownedBy(&item, c) {
				continue
			}
			obj := OwnedObject{Kind: gvk.Kind, Name: item.GetName()}
			obj.Phase, _, _ = unstructured.NestedString(item.Object, "status", "phase")
			obj.Version, _, _ = unstructured.NestedString(item.Object, "status", "version")
			if obj.Version == "" {
				obj.Version, _, _ = unstructured.NestedString(item.Object, "spec", "template", "spec", "version")
			}
			obj.Ready = readyOf(conditionsOf(&item))
			if a := apimeta.FindStatusCondition(conditionsOf(&item), "Available"); a != nil {
				obj.Ready = Ready{Status: string(a.Status), Reason: a.Reason, Message: a.Message}
			}
			out = append(out, obj)
		}
	}
	note := ""
	if len(missing) > 0 {
		note = "not readable from the cache (Cluster API not installed?): " + strings.Join(missing, ", ")
	}
	return out, note
}

func ownedBy(obj metav1.Object, c *automationv1alpha1.Cluster) bool {
	for _, ref := range obj.GetOwnerReferences() {
		if ref.UID == c.UID {
			return true
		}
	}
	return false
}

func conditionsOf(u *unstructured.Unstructured) []metav1.Condition {
	raw, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	out := make([]metav1.Condition, 0, len(raw))
	for _, item := range raw {
		m, ok := item.(map[string]any)
		if !ok {
			continue
		}
		t, _ := m["type"].(string)
		st, _ := m["status"].(string)
		reason, _ := m["reason"].(string)
		msg, _ := m["message"].(string)
		out = append(out, metav1.Condition{Type: t, Status: metav1.ConditionStatus(st), Reason: reason, Message: msg})
	}
	return out
}

// eventsOf lists the events regarding the cluster, newest first, at most 50.
func (s *Server) eventsOf(ctx context.Context, c *automationv1alpha1.Cluster) ([]EventRow, error) {
	var list eventsv1.EventList
	if err := s.reader.List(ctx, &list, client.InNamespace(c.Namespace)); err != nil {
		return nil, err
	}
	var out []EventRow
	for _, e := range list.Items {
		if e.Regarding.Name != c.Name || e.Regarding.Kind != automationv1alpha1.ClusterKind ||
			!strings.HasPrefix(e.Regarding.APIVersion, automationv1alpha1.GroupVersion.Group) {
			continue
		}
		row := EventRow{Time: e.EventTime.Time, Type: e.Type, Reason: e.Reason, Note: e.Note, Count: 1}
		if e.Series != nil {
			row.Time, row.Count = e.Series.LastObservedTime.Time, e.Series.Count
		}
		if row.Time.IsZero() {
			row.Time = e.DeprecatedLastTimestamp.Time
		}
		if row.Time.IsZero() {
			row.Time = e.CreationTimestamp.Time
		}
		out = append(out, row)
	}
	slices.SortFunc(out, func(a, b EventRow) int { return b.Time.Compare(a.Time) })
	if len(out) > 50 {
		out = out[:50]
	}
	return out, nil
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }
