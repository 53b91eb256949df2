// Package loader reads a fleet repository tree (an unpacked Flux artifact or a checkout) into
// typed L-KaaS documents in canonical form. It accepts the seed deck's shapes as written and
// normalizes them; every problem it finds carries file:line:column, the document and the field.
// It never talks to a cluster.
package loader

import (
	"fmt"
	"sort"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
)

// Position is a place in a file of the tree; File is slash-separated and relative to the root.
type Position struct {
	File   string
	Line   int
	Column int
}

func (p Position) String() string {
	switch {
	case p.File == "":
		return "<input>"
	case p.Line == 0:
		return p.File
	default:
		return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column)
	}
}

// Error is one problem in a tree. Its text reads
// "path:line:col: Kind/name: field: message", parts left out when unknown.
type Error struct {
	Pos Position
	// Kind and Name of the document the problem is in.
	Kind, Name string
	// Field is the path of the offending field in the document as written, e.g.
	// "spec.infrastructure.profile.revision".
	Field string
	// Message says what is wrong and what would be accepted.
	Message string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Pos.String())
	b.WriteString(": ")
	if e.Kind != "" {
		b.WriteString(e.Kind)
		if e.Name != "" {
			b.WriteString("/" + e.Name)
		}
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// ErrorList collects every problem of a tree; it is an error when not empty.
type ErrorList []*Error

func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Sort orders the list by file, line and column, so output is stable.
func (l ErrorList) Sort() {
	sort.SliceStable(l, func(i, j int) bool {
		a, b := l[i].Pos, l[j].Pos
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
}

// Err returns nil for an empty list, so callers can `return list.Err()`.
func (l ErrorList) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

// Origin is where a document came from: its start, and the position of each of its fields
// keyed by the canonical field path ("spec.infrastructure.profile.revision",
// "spec.clusters[2].clusterCatalog"), so later stages (resolve, render) report problems at the
// line the user has to change.
type Origin struct {
	Pos    Position
	Fields map[string]Position
	// Written maps a canonical field path to the path the user wrote it under, which differs
	// for the seed's shapes ("spec.infrastructure.profile" <- "spec.infrastructure.spec.provider.profile").
	Written map[string]string
}

// Field returns the position of a canonical field path, or of its nearest ancestor that has
// one, or of the document.
func (o Origin) Field(path string) Position {
	for p := path; p != ""; p = parentPath(p) {
		if pos, ok := o.Fields[p]; ok {
			return pos
		}
	}
	return o.Pos
}

// WrittenPath returns the path under which the user wrote a canonical field path: that of the
// field, or of its nearest written ancestor with the rest of the path appended, or the path
// itself.
func (o Origin) WrittenPath(path string) string {
	for p := path; p != ""; p = parentPath(p) {
		if w, ok := o.Written[p]; ok {
			return w + path[len(p):]
		}
	}
	return path
}

// parentPath drops the last element of a field path: "a.b[2].c" -> "a.b[2]" -> "a.b" -> "a".
func parentPath(p string) string {
	if i := strings.LastIndexAny(p, ".["); i >= 0 {
		return p[:i]
	}
	return ""
}

// Doc is one document of the tree in canonical form, with its origin.
type Doc[T client.Object] struct {
	Object T
	Origin Origin
}

// Set is everything the loader kept from a tree, each slice sorted by namespace and name.
type Set struct {
	Profiles        []Doc[*automationv1alpha1.InfrastructureProfile]
	Catalogs        []Doc[*automationv1alpha1.ClusterCatalog]
	Clusters        []Doc[*automationv1alpha1.Cluster]
	LogicalClusters []Doc[*intentv1.LogicalCluster]
	Fleets          []Doc[*automationv1alpha1.Fleet]
}

// Objects lists every object of the set in dependency order: profiles, catalogs, clusters,
// logical clusters, fleets.
func (s *Set) Objects() []client.Object {
	var objs []client.Object
	for _, d := range s.Profiles {
		objs = append(objs, d.Object)
	}
	for _, d := range s.Catalogs {
		objs = append(objs, d.Object)
	}
	for _, d := range s.Clusters {
		objs = append(objs, d.Object)
	}
	for _, d := range s.LogicalClusters {
		objs = append(objs, d.Object)
	}
	for _, d := range s.Fleets {
		objs = append(objs, d.Object)
	}
	return objs
}

// Options shape how a tree is read.
type Options struct {
	// DefaultNamespace is given to documents that name none ("default" when empty).
	DefaultNamespace string

	// FleetNamespace, when set, is the only namespace documents may be written into: a
	// document without a namespace lands there and one that names another is an error. The
	// Fleet controller sets it; the CLI does not.
	FleetNamespace string
}
