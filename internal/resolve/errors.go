package resolve

import (
	"fmt"

	"github.com/dcn-ssu/lkaas/internal/loader"
)

// docRef is a document that errors can point into: the one the user has to edit.
type docRef struct {
	Kind, Name string
	Origin     loader.Origin
}

// errorAt builds an error positioned at a canonical field path of the document, naming the
// field as the user wrote it (the seed's shapes nest some fields differently).
func (d docRef) errorAt(field, format string, args ...any) *loader.Error {
	return &loader.Error{
		Pos:     d.Origin.Field(field),
		Kind:    d.Kind,
		Name:    d.Name,
		Field:   d.Origin.WrittenPath(field),
		Message: fmt.Sprintf(format, args...),
	}
}

// errorSink collects errors once each: a broken catalog or profile shared by many clusters
// is reported a single time, at the document to fix.
type errorSink struct {
	list loader.ErrorList
	seen map[string]bool
}

func (s *errorSink) add(e *loader.Error) {
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	text := e.Error()
	if s.seen[text] {
		return
	}
	s.seen[text] = true
	s.list = append(s.list, e)
}
