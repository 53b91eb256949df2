package emcotest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
)

// EMCO's texts, shared by several services (orchestrator apierror package).
const (
	msgInternal         = "The server encountered an internal error and was unable to complete your request."
	msgEmptyBody        = "Empty body"
	msgParentNotFound   = "Cannot perform requested operation. Parent resource not found"
	msgResourceNotFound = "The requested resource not found"
	msgHasChildren      = "Cannot delete parent without deleting child references first"
	msgIsReferenced     = "Cannot delete without deleting or updating referencing resources first"
	msgMismatchedName   = "Mismatched name in PUT request"
	msgNoReferences     = "No Cluster References associated"
)

// namePattern is EMCO's JSON-schema pattern for names and labels.
const namePattern = `^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`

var nameRE = regexp.MustCompile(namePattern)

// fail writes EMCO's plain-text error (Go http.Error: text/plain, nosniff, text + "\n").
func fail(w http.ResponseWriter, status int, msg string) { http.Error(w, msg, status) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decodeBody reads a JSON body the way EMCO's handlers do: io.EOF → 400
// emptyMsg, any other decoder error → 422 with the decoder's text.
func decodeBody(w http.ResponseWriter, r *http.Request, v any, emptyMsg string) bool {
	return decodeFrom(w, r.Body, v, emptyMsg)
}

func decodeFrom(w http.ResponseWriter, body io.Reader, v any, emptyMsg string) bool {
	err := json.NewDecoder(body).Decode(v)
	switch {
	case err == io.EOF:
		fail(w, http.StatusBadRequest, emptyMsg)
		return false
	case err != nil:
		fail(w, http.StatusUnprocessableEntity, err.Error())
		return false
	}
	return true
}

// schema collects JSON-schema violations in gojsonschema's wording.
type schema []string

func (s *schema) name(v string) {
	if !nameRE.MatchString(v) {
		*s = append(*s, fmt.Sprintf("Does not match pattern '%s'", namePattern))
	}
	s.maxLen(v, 128)
}

func (s *schema) maxLen(v string, n int) {
	if len([]rune(v)) > n {
		*s = append(*s, fmt.Sprintf("String length must be less than or equal to %d", n))
	}
}

func (s *schema) metadata(m metadata) {
	s.name(m.Name)
	s.maxLen(m.Description, 1024)
	s.maxLen(m.UserData1, 512)
	s.maxLen(m.UserData2, 512)
}

// array flags a JSON-schema array that dcm's re-marshalled struct sends as null.
func (s *schema) array(v []string) {
	if v == nil {
		*s = append(*s, "Invalid type. Expected: array, given: null")
	}
}

// check writes 400 "Invalid Input:\n<reason>…" when there were violations.
func (s schema) check(w http.ResponseWriter) bool {
	if len(s) == 0 {
		return true
	}
	fail(w, http.StatusBadRequest, strings.Join(append([]string{"Invalid Input:"}, s...), "\n"))
	return false
}
