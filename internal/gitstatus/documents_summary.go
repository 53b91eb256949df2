package gitstatus

import (
	"cmp"
	"fmt"
	"maps"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
)

// maxText bounds a message in the summary; the documents hold it in full.
const maxText = 200

// Summary renders <dir>/README.md from every status document under dir (docs: path → bytes,
// as found in the tree after the writer applied its own changes; documents of several
// Fleets may share one dir). Files that are not status documents are ignored. It returns
// nil when there are no documents.
func Summary(dir string, docs map[string][]byte) []byte {
	groups := groupByFleet(dir, docs)
	if len(groups) == 0 {
		return nil
	}

	var b strings.Builder
	b.WriteString("<!-- " + strings.TrimPrefix(Header, "# ") + " -->\n")
	b.WriteString("# L-KaaS status\n\n")
	b.WriteString("What L-KaaS observed of the objects each Fleet applied from Git. " +
		"Each name links to the object's status file in this directory.\n")
	for _, key := range slices.Sorted(maps.Keys(groups)) {
		groups[key].write(&b)
	}
	return []byte(b.String())
}

// groupByFleet parses the status documents under dir and groups them by their Fleet.
func groupByFleet(dir string, docs map[string][]byte) map[string]*fleetGroup {
	d, err := Dir(dir)
	if err != nil {
		return nil
	}
	groups := map[string]*fleetGroup{}
	for p, b := range docs {
		p = strings.TrimPrefix(path.Clean("/"+p), "/")
		rel, under := strings.CutPrefix(p, d)
		if !under || !strings.HasSuffix(rel, ".yaml") {
			continue
		}
		doc, ok := parse(b)
		if !ok {
			continue
		}
		g := groups[doc.Fleet]
		if g == nil {
			g = &fleetGroup{key: doc.Fleet}
			groups[doc.Fleet] = g
		}
		e := entry{rel: rel, doc: doc}
		switch doc.Kind {
		case automationv1alpha1.FleetKind:
			// Two documents of one Fleet (a stale copy in another namespace directory): the
			// one of the Fleet's own namespace wins, then the first path.
			if g.fleet == nil || betterFleetDoc(e, *g.fleet, doc.Fleet) {
				g.fleet = &e
			}
		case automationv1alpha1.ClusterKind:
			g.clusters = append(g.clusters, e)
		case intentv1.LogicalClusterKind:
			g.logicalClusters = append(g.logicalClusters, e)
		}
	}
	return groups
}

type entry struct {
	rel string // path relative to the status directory: the link target
	doc *parsed
}

type fleetGroup struct {
	key             string
	fleet           *entry
	clusters        []entry
	logicalClusters []entry
}

func betterFleetDoc(a, b entry, fleet string) bool {
	ns, _, _ := strings.Cut(fleet, "/")
	aOwn, bOwn := a.doc.Metadata.Namespace == ns, b.doc.Metadata.Namespace == ns
	if aOwn != bOwn {
		return aOwn
	}
	return a.rel < b.rel
}

func byObject(a, b entry) int {
	return cmp.Or(cmp.Compare(a.doc.Metadata.Namespace, b.doc.Metadata.Namespace),
		cmp.Compare(a.doc.Metadata.Name, b.doc.Metadata.Name), cmp.Compare(a.rel, b.rel))
}

// split sorts the group and lists members under their LogicalCluster; a Cluster whose
// LogicalCluster has no document (yet) stays standalone, so no cluster is ever hidden.
func (g *fleetGroup) split() (members map[[2]string][]entry, standalone []entry) {
	slices.SortFunc(g.clusters, byObject)
	slices.SortFunc(g.logicalClusters, byObject)
	lcs := map[[2]string]bool{}
	for _, lc := range g.logicalClusters {
		lcs[[2]string{lc.doc.Metadata.Namespace, lc.doc.Metadata.Name}] = true
	}
	members = map[[2]string][]entry{} // LogicalCluster → member Cluster documents
	for _, c := range g.clusters {
		owner := [2]string{c.doc.Metadata.Namespace, c.doc.Status.LogicalCluster}
		if owner[1] != "" && lcs[owner] {
			members[owner] = append(members[owner], c)
		} else {
			standalone = append(standalone, c)
		}
	}
	return members, standalone
}

func (g *fleetGroup) write(b *strings.Builder) {
	members, standalone := g.split()
	b.WriteString("\n## Fleet ")
	if g.fleet != nil {
		b.WriteString(link(g.key, g.fleet.rel))
	} else {
		b.WriteString(text(g.key))
	}
	b.WriteString("\n\n")
	if g.fleet == nil {
		b.WriteString("- Revision: —\n- Ready: —\n")
	} else {
		st := g.fleet.doc.Status
		fmt.Fprintf(b, "- Revision: %s\n", code(cmp.Or(st.LastAppliedRevision, g.fleet.doc.SourceRevision)))
		fmt.Fprintf(b, "- Ready: %s\n", readyText(st.Conditions, true))
		if len(st.Clusters) > 0 {
			var counts []string
			for _, phase := range slices.Sorted(maps.Keys(st.Clusters)) {
				counts = append(counts, fmt.Sprintf("%d %s", st.Clusters[phase], text(phase)))
			}
			fmt.Fprintf(b, "- Clusters: %s\n", strings.Join(counts, ", "))
		}
	}

	if len(standalone) > 0 {
		b.WriteString("\n### Clusters\n\n")
		b.WriteString("| Name | Phase | Version | Ready | EMCO |\n|---|---|---|---|---|\n")
		for _, c := range standalone {
			st := c.doc.Status
			emco := ""
			if st.EMCO != nil {
				emco = "not registered"
				if st.EMCO.Registered {
					emco = "registered"
				}
				if st.EMCO.Endpoint != "" {
					emco += " (" + st.EMCO.Endpoint + ")"
				}
			}
			row(b, link(c.doc.Metadata.Name, c.rel)+existingMark(st.Existing), text(st.Phase), text(version(st.ControlPlaneVersion, st.WorkersVersion)),
				readyText(st.Conditions, false), text(emco))
		}
	}

	for _, lc := range g.logicalClusters {
		writeLogicalCluster(b, lc, members[[2]string{lc.doc.Metadata.Namespace, lc.doc.Metadata.Name}])
	}
}

func writeLogicalCluster(b *strings.Builder, lc entry, clusters []entry) {
	st := lc.doc.Status
	fmt.Fprintf(b, "\n### LogicalCluster %s\n\n", link(lc.doc.Metadata.Name, lc.rel))
	fmt.Fprintf(b, "- Phase: %s\n", orDash(text(st.Phase)))
	fmt.Fprintf(b, "- Ready members: %d/%d\n", st.ReadyMembers, st.TotalMembers)
	wave := "none"
	if st.CurrentWave != nil {
		wave = strconv.Itoa(int(*st.CurrentWave))
	}
	fmt.Fprintf(b, "- Wave in progress: %s\n", wave)
	cloud := text(st.LogicalCloud)
	if e := st.EMCO; e != nil {
		var about []string
		if e.Level != "" {
			about = append(about, "level "+text(e.Level))
		}
		if e.DeployedStatus != "" {
			about = append(about, text(e.DeployedStatus))
		}
		if e.ReadyStatus != "" {
			about = append(about, "ready: "+text(e.ReadyStatus))
		}
		if e.Endpoint != "" {
			about = append(about, "on "+text(e.Endpoint))
		}
		if len(about) > 0 {
			cloud = strings.TrimSpace(cloud + " (" + strings.Join(about, ", ") + ")")
		}
	}
	fmt.Fprintf(b, "- Logical cloud: %s\n", orDash(cloud))
	fmt.Fprintf(b, "- Ready: %s\n", readyText(st.Conditions, true))

	byName := map[string]entry{}
	for _, c := range clusters {
		byName[c.doc.Metadata.Name] = c
	}
	memberLink := func(name string) string {
		if c, ok := byName[name]; ok {
			return link(name, c.rel)
		}
		return text(name)
	}
	b.WriteString("\n| Member | Wave | Phase | Version | Registered | Pending |\n|---|---|---|---|---|---|\n")
	listed := map[string]bool{}
	for _, m := range st.Members {
		listed[m.Name] = true
		row(b, memberLink(m.Name)+existingMark(m.Existing), strconv.Itoa(int(m.Wave)), text(m.Phase), text(m.KubernetesVersion),
			yesNo(m.Registered), yesNo(m.Pending))
	}
	// Clusters labelled for this LogicalCluster that its status does not list (yet, or no
	// more): shown from their own documents.
	for _, c := range clusters {
		if listed[c.doc.Metadata.Name] {
			continue
		}
		cs := c.doc.Status
		registered := "—"
		if cs.EMCO != nil {
			registered = yesNo(cs.EMCO.Registered)
		}
		row(b, memberLink(c.doc.Metadata.Name)+existingMark(cs.Existing), "—", text(cs.Phase), text(version(cs.ControlPlaneVersion, cs.WorkersVersion)),
			registered, "—")
	}
}

// row writes one table row of cells already escaped by text (or made by link).
func row(b *strings.Builder, cells ...string) {
	for _, c := range cells {
		b.WriteString("| " + orDash(c) + " ")
	}
	b.WriteString("|\n")
}

// readyText is the Ready condition, escaped: "True", or "False (Reason): message". In a
// table (full false) a True condition shows neither reason nor message.
func readyText(conds []condition, full bool) string {
	for _, c := range conds {
		if c.Type != "Ready" {
			continue
		}
		s := c.Status
		if !full && c.Status == "True" {
			return text(s)
		}
		if c.Reason != "" {
			s += " (" + c.Reason + ")"
		}
		if c.Message != "" {
			s += ": " + c.Message
		}
		return text(s)
	}
	return "—"
}

func version(controlPlane, workers string) string {
	if workers == "" || workers == controlPlane {
		return controlPlane
	}
	if controlPlane == "" {
		return "workers " + workers
	}
	return controlPlane + " (workers " + workers + ")"
}

func yesNo(v bool) string {
	if v {
		return "yes"
	}
	return "no"
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

var markdownEscaper = strings.NewReplacer(`\`, `\\`, "|", `\|`, "<", "&lt;")

// text makes free text safe on one markdown line and in a table cell: runs of white space
// (newlines included) become one space, long text is cut, and backslashes, pipes and "<"
// are escaped. Apply it exactly once to each piece of text.
func text(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > maxText {
		s = string(r[:maxText]) + "…"
	}
	return markdownEscaper.Replace(s)
}

// code shows a revision as inline code when it can.
func code(s string) string {
	if s == "" {
		return "—"
	}
	if strings.ContainsAny(s, "`\\|<\n\r") || len(s) > maxText {
		return text(s)
	}
	return "`" + s + "`"
}

// link is a relative markdown link to a status file.
func link(name, rel string) string {
	segments := strings.Split(rel, "/")
	for i, s := range segments {
		segments[i] = url.PathEscape(s)
	}
	return "[" + text(name) + "](" + strings.Join(segments, "/") + ")"
}

// existingMark follows the name of a cluster built by other means (spec.existing).
func existingMark(existing bool) string {
	if existing {
		return " (existing)"
	}
	return ""
}
