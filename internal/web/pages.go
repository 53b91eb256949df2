package web

import (
	"html/template"
	"net/url"
	"strings"
	"time"
)

func fleetLink(namespace, name string) string {
	return "/fleets/" + url.PathEscape(namespace) + "/" + url.PathEscape(name) + "/history"
}

func logicalClusterLink(namespace, name string) string {
	return "/logicalclusters/" + url.PathEscape(namespace) + "/" + url.PathEscape(name)
}

func clusterLink(namespace, name string) string {
	return "/clusters/" + url.PathEscape(namespace) + "/" + url.PathEscape(name)
}

// scopedLink keeps ?namespace= on the page's links, so a tenant view stays one.
func scopedLink(link, scope string) string {
	if scope == "" {
		return link
	}
	return link + "?namespace=" + url.QueryEscape(scope)
}

// shortCommit is the first 12 characters of a commit hash or of the hash in a Flux revision
// ("main@sha1:0123…").
func shortRevision(rev string) string {
	if rev == "" {
		return "—"
	}
	prefix, hash, ok := strings.Cut(rev, ":")
	if !ok {
		prefix, hash = "", rev
	} else {
		prefix += ":"
	}
	if len(hash) > 12 {
		hash = hash[:12]
	}
	return prefix + hash
}

func ago(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	d := time.Since(t).Round(time.Second)
	switch {
	case d < time.Minute:
		return d.String() + " ago"
	case d < time.Hour:
		return d.Round(time.Minute).String() + " ago"
	default:
		return t.UTC().Format("2006-01-02 15:04 UTC")
	}
}

// statusClass is the CSS class of a status or phase word.
func statusClass(s string) string {
	switch s {
	case "True", "Ready", "done":
		return "ok"
	case "False", "Failed", "not ready":
		return "bad"
	case "Upgrading", "Provisioning", "Provisioned", "Pending", "rolling", "waiting", "Deleting":
		return "busy"
	}
	return "unknown"
}

var funcs = template.FuncMap{
	"fleetLink":          fleetLink,
	"logicalClusterLink": logicalClusterLink,
	"clusterLink":        clusterLink,
	"scoped":             scopedLink,
	"short":              shortRevision,
	"ago":                ago,
	"class":              statusClass,
	"join":               strings.Join,
	"orDash": func(s string) string {
		if s == "" {
			return "—"
		}
		return s
	},
}

var pageNames = []string{"overview", "logicalcluster", "cluster", "history"}

// parsePages parses each page with the shared layout.
func parsePages() (map[string]*template.Template, error) {
	out := map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(assets, "assets/templates/layout.html", "assets/templates/"+name+".html")
		if err != nil {
			return nil, err
		}
		out[name] = t
	}
	return out, nil
}
