package loader

import "fmt"

// sprintf is fmt.Sprintf under a short name; vet still checks its format strings.
func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// docErrors reports problems of one document: its kind and name (as written) go on every error.
type docErrors struct {
	errs       *ErrorList
	kind, name string
	origin     *Origin
}

// atNode reports a problem at a node as written, during normalization.
func (d *docErrors) atNode(n *node, format string, args ...any) {
	*d.errs = append(*d.errs, &Error{Pos: n.at, Kind: d.kind, Name: d.name, Field: n.path, Message: sprintf(format, args...)})
}

// atValue reports a problem with a scalar's value at the value itself.
func (d *docErrors) atValue(n *node, format string, args ...any) {
	*d.errs = append(*d.errs, &Error{Pos: n.pos, Kind: d.kind, Name: d.name, Field: n.path, Message: sprintf(format, args...)})
}

// at reports a problem at a canonical field path, mapped back to where the user wrote it.
func (d *docErrors) at(path, format string, args ...any) {
	*d.errs = append(*d.errs, &Error{
		Pos: d.origin.Field(path), Kind: d.kind, Name: d.name,
		Field: d.origin.WrittenPath(path), Message: sprintf(format, args...),
	})
}
