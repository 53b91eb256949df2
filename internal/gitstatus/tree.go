package gitstatus

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
)

// Tree renders the status documents under dir for a terminal, one tree per Fleet:
//
//	Fleet starlab/starlab  main@sha1:4f2c9a1e…  Ready
//	├─ LogicalCluster mec-cluster  Upgrading  1/4 Ready  wave 1  cloud mec-cluster Instantiated
//	│  ├─ central-cluster     wave 0  Ready      v1.26.0  registered
//	│  └─ seoul-edge-cluster  wave 1  Upgrading  v1.26.0  registered
//	└─ Cluster cluster-sample  Ready  v1.25.0  not registered
func Tree(dir string, docs map[string][]byte) string {
	groups := groupByFleet(dir, docs)
	var b strings.Builder
	for _, key := range slices.Sorted(maps.Keys(groups)) {
		groups[key].tree(&b)
	}
	return b.String()
}

func (g *fleetGroup) tree(b *strings.Builder) {
	members, standalone := g.split()
	revision, ready := "—", "—"
	if g.fleet != nil {
		st := g.fleet.doc.Status
		revision = orDash(cmp.Or(st.LastAppliedRevision, g.fleet.doc.SourceRevision))
		ready = readyWord(st.Conditions)
	}
	fmt.Fprintf(b, "Fleet %s  %s  %s\n", g.key, revision, ready)

	type branch struct {
		line     string
		children []string
	}
	var branches []branch
	for _, lc := range g.logicalClusters {
		st := lc.doc.Status
		line := fmt.Sprintf("LogicalCluster %s\t%s\t%d/%d Ready", lc.doc.Metadata.Name, orDash(st.Phase), st.ReadyMembers, st.TotalMembers)
		if st.CurrentWave != nil {
			line += fmt.Sprintf("\twave %d", *st.CurrentWave)
		}
		if st.LogicalCloud != "" {
			line += "\tcloud " + st.LogicalCloud
			if st.EMCO != nil && st.EMCO.DeployedStatus != "" {
				line += " " + st.EMCO.DeployedStatus
			}
		}
		var children []string
		listed := map[string]bool{}
		for _, m := range st.Members {
			listed[m.Name] = true
			children = append(children, fmt.Sprintf("%s\twave %d\t%s\t%s\t%s", m.Name, m.Wave, orDash(m.Phase), orDash(m.KubernetesVersion), registeredWord(m.Registered)))
		}
		for _, c := range members[[2]string{lc.doc.Metadata.Namespace, lc.doc.Metadata.Name}] {
			if !listed[c.doc.Metadata.Name] {
				children = append(children, clusterLine(c, "\t—"))
			}
		}
		branches = append(branches, branch{line: line, children: children})
	}
	for _, c := range standalone {
		branches = append(branches, branch{line: "Cluster " + clusterLine(c, "")})
	}

	w := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	for i, br := range branches {
		last := i == len(branches)-1
		// Branch lines stand alone; only a logical cluster's members are aligned as columns.
		fmt.Fprintf(w, "%s%s\n", pick(last, "└─ ", "├─ "), strings.ReplaceAll(br.line, "\t", "  "))
		for j, child := range br.children {
			fmt.Fprintf(w, "%s%s%s\n", pick(last, "   ", "│  "), pick(j == len(br.children)-1, "└─ ", "├─ "), child)
		}
	}
	_ = w.Flush()
}

func clusterLine(c entry, wave string) string {
	st := c.doc.Status
	registered := "—"
	if st.EMCO != nil {
		registered = registeredWord(st.EMCO.Registered)
	}
	name := c.doc.Metadata.Name
	if st.Existing {
		name += " (existing)"
	}
	return fmt.Sprintf("%s%s\t%s\t%s\t%s", name, wave, orDash(st.Phase), orDash(version(st.ControlPlaneVersion, st.WorkersVersion)), registered)
}

func readyWord(conds []condition) string {
	for _, c := range conds {
		if c.Type == "Ready" {
			if c.Status == "True" {
				return "Ready"
			}
			return "NotReady: " + oneLine(c.Message)
		}
	}
	return "—"
}

func registeredWord(registered bool) string {
	if registered {
		return "registered"
	}
	return "not registered"
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return s
}

func pick(cond bool, yes, no string) string {
	if cond {
		return yes
	}
	return no
}
