package plan

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Format is an output format of a report.
type Format string

const (
	Text     Format = "text"
	Markdown Format = "markdown"
	JSON     Format = "json"
)

// Write renders the report in the format.
func (r *Report) Write(w io.Writer, f Format) error {
	switch f {
	case Text:
		_, err := io.WriteString(w, r.text())
		return err
	case Markdown:
		_, err := io.WriteString(w, r.markdown())
		return err
	case JSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	default:
		return fmt.Errorf("unknown format %q: want text, markdown or json", f)
	}
}

func (r *Report) headline() string {
	if r.Empty() {
		return "No cluster changes."
	}
	s := r.Summary
	line := fmt.Sprintf("%d to add, %d to change, %d to remove, %d unchanged.", s.Added, s.Changed, s.Removed, s.Unchanged)
	if s.Blocked > 0 {
		line += fmt.Sprintf(" BLOCKED: %d change(s) break Kubernetes' version rules; L-KaaS will not apply them.", s.Blocked)
	}
	return line
}

// blockedLine says why a change is refused and where to fix it.
func (b *Blocked) line() string {
	field := ""
	if b.Field != "" {
		field = b.Field + ": "
	}
	return fmt.Sprintf("BLOCKED by rule %s: %s: %s%s", b.Rule, b.At, field, b.Message)
}

var actionSigns = map[Action]string{Added: "+", Removed: "-", Changed: "~"}

// clusterLine is the one-line summary of a cluster change, shared by text and markdown.
func (c ClusterChange) details() []string {
	var out []string
	if c.Blocked != nil {
		out = append(out, c.Blocked.line())
	}
	if c.Upgrade != nil {
		up := fmt.Sprintf("Kubernetes %s → %s", c.Upgrade.From, c.Upgrade.To)
		if len(c.Steps) > 1 {
			up += fmt.Sprintf(" in %d steps: %s", len(c.Steps), strings.Join(c.Steps, " → "))
		}
		out = append(out, up)
	}
	for _, f := range c.Fields {
		out = append(out, fmt.Sprintf("%s %s → %s", f.Field, orNone(f.From), orNone(f.To)))
	}
	if n := len(c.Objects); n > 0 && c.Action == Changed {
		out = append(out, fmt.Sprintf("%d rendered object(s)", n))
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func (c ClusterChange) version() string {
	if c.Upgrade != nil {
		return c.Upgrade.From + " → " + c.Upgrade.To
	}
	return c.Version
}

func (r *Report) text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "L-KaaS plan: %s → %s\n\n", r.Base, r.Head)
	for _, c := range r.Clusters {
		fmt.Fprintf(&b, "%s cluster %s/%s", actionSigns[c.Action], c.Namespace, c.Name)
		if c.Existing {
			b.WriteString(" (existing: no infrastructure written, never upgraded)")
		}
		if c.LogicalCluster != "" {
			fmt.Fprintf(&b, " (member of %s)", c.LogicalCluster)
		}
		if v := c.version(); v != "" && c.Action != Changed {
			fmt.Fprintf(&b, " Kubernetes %s", v)
		}
		b.WriteString("\n")
		for _, d := range c.details() {
			fmt.Fprintf(&b, "    %s\n", d)
		}
	}
	for _, lc := range r.LogicalClusters {
		fmt.Fprintf(&b, "%s logical cluster %s/%s\n", actionSigns[lc.Action], lc.Namespace, lc.Name)
		if len(lc.MembersAdded) > 0 {
			fmt.Fprintf(&b, "    members joining: %s\n", strings.Join(lc.MembersAdded, ", "))
		}
		if len(lc.MembersRemoved) > 0 {
			fmt.Fprintf(&b, "    members leaving: %s\n", strings.Join(lc.MembersRemoved, ", "))
		}
		for _, w := range lc.Waves {
			fmt.Fprintf(&b, "    wave %d (at most %s at once): %s\n", w.Wave, lc.MaxUnavailable, strings.Join(w.Members, ", "))
		}
	}
	if !r.Empty() {
		b.WriteString("\n")
	}
	b.WriteString(r.headline() + "\n")
	for _, c := range r.Clusters {
		for _, o := range c.Objects {
			b.WriteString("\n" + o.Diff)
		}
	}
	return b.String()
}

func (r *Report) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "### L-KaaS plan: `%s` → `%s`\n\n**%s**\n", r.Base, r.Head, r.headline())
	if len(r.Clusters) > 0 {
		b.WriteString("\n| | Cluster | Logical cluster | Kubernetes | Changes |\n|---|---|---|---|---|\n")
		for _, c := range r.Clusters {
			name := fmt.Sprintf("`%s/%s`", c.Namespace, c.Name)
			if c.Existing {
				name += " (existing)"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", actionSigns[c.Action], name,
				orDash(c.LogicalCluster), orDash(c.version()), orDash(strings.Join(c.details(), "<br>")))
		}
	}
	for _, lc := range r.LogicalClusters {
		fmt.Fprintf(&b, "\n#### %s logical cluster `%s/%s`\n\n", actionSigns[lc.Action], lc.Namespace, lc.Name)
		if len(lc.MembersAdded) > 0 {
			fmt.Fprintf(&b, "- members joining: %s\n", codeList(lc.MembersAdded))
		}
		if len(lc.MembersRemoved) > 0 {
			fmt.Fprintf(&b, "- members leaving: %s\n", codeList(lc.MembersRemoved))
		}
		if len(lc.Waves) > 0 {
			fmt.Fprintf(&b, "- rollout, at most %s member(s) changing at once:\n", lc.MaxUnavailable)
			for i, w := range lc.Waves {
				fmt.Fprintf(&b, "  %d. wave %d: %s\n", i+1, w.Wave, codeList(w.Members))
			}
		}
	}
	var diffs []ObjectChange
	for _, c := range r.Clusters {
		diffs = append(diffs, c.Objects...)
	}
	if len(diffs) > 0 {
		fmt.Fprintf(&b, "\n<details><summary>Rendered Cluster API objects: %d changed</summary>\n\n```diff\n", len(diffs))
		for _, o := range diffs {
			b.WriteString(o.Diff)
		}
		b.WriteString("```\n\n</details>\n")
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func codeList(names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = "`" + n + "`"
	}
	return strings.Join(quoted, ", ")
}
