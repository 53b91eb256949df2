package emco

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// maxErrorBody bounds how much of EMCO's text an error keeps; EMCO messages are
// one or a few lines, anything longer is noise.
const maxErrorBody = 1024

// APIError is a non-2xx answer from EMCO. Body is EMCO's plain-text message,
// trimmed, with any secret the request carried replaced by "[REDACTED]".
type APIError struct {
	StatusCode int
	Method     string
	Path       string // URL path below the service base, e.g. /v2/cluster-providers/cp1
	Body       string
}

func (e *APIError) Error() string {
	msg := e.Body
	if msg == "" {
		msg = http.StatusText(e.StatusCode)
	}
	return fmt.Sprintf("emco: %s %s: %d: %s", e.Method, e.Path, e.StatusCode, msg)
}

// StatusCode returns the HTTP status of an *APIError in err's chain, or 0.
func StatusCode(err error) int {
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr.StatusCode
	}
	return 0
}

// IsNotFound reports whether EMCO answered 404.
func IsNotFound(err error) bool { return StatusCode(err) == http.StatusNotFound }

// IsConflict reports whether EMCO answered 409 (duplicate, parent missing,
// children or references still present, or a logical cloud in the wrong state).
func IsConflict(err error) bool { return StatusCode(err) == http.StatusConflict }

// IsBadRequest reports whether EMCO answered 400.
func IsBadRequest(err error) bool { return StatusCode(err) == http.StatusBadRequest }

// noClusterReferences is dcm's 400 text for a logical cloud without references;
// dcm uses it where a list would be empty, so it is matched to tell "empty" from "bad".
const noClusterReferences = "No Cluster References associated"

func isNoClusterReferences(err error) bool {
	var apiErr *APIError
	return errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusBadRequest &&
		strings.Contains(apiErr.Body, noClusterReferences)
}

// ErrLogicalCloudBusy means the logical cloud is instantiating or terminating;
// the operation must wait for dcm to settle (poll Status) and be retried.
var ErrLogicalCloudBusy = errors.New("emco: logical cloud is instantiating or terminating; retry later")

// ErrWouldStrandLogicalCloud refuses to remove the last reference of an
// instantiated logical cloud: dcm accepts it but then can neither terminate nor
// delete the cloud until a reference is re-added (contract §4.5).
var ErrWouldStrandLogicalCloud = errors.New("emco: removing every cluster reference of an instantiated logical cloud would leave it stuck; terminate it first")

// ErrLevelChange refuses to change a logical cloud's level in place: dcm keys
// level-1 material to the cloud at create time, so it must be deleted and re-created.
var ErrLevelChange = errors.New("emco: a logical cloud's level cannot change; delete and re-create it")

// ErrGitOpsCluster means the cluster is registered as a GitOps cluster and has
// no kubeconfig to compare or replace.
var ErrGitOpsCluster = errors.New("emco: cluster is registered as a GitOps cluster, not with a kubeconfig")

// redactor removes secret byte strings from text before it reaches an error.
type redactor [][]byte

const redacted = "[REDACTED]"

// minSecretLen avoids redacting trivially short strings that would mangle messages.
const minSecretLen = 4

func (r redactor) apply(text []byte) []byte {
	for _, secret := range r {
		if len(secret) < minSecretLen {
			continue
		}
		text = bytes.ReplaceAll(text, secret, []byte(redacted))
		// A kubeconfig is multi-line; also scrub each substantial line so a
		// partial echo (one line, e.g. a client key) is caught too.
		for _, line := range bytes.Split(secret, []byte("\n")) {
			line = bytes.TrimSpace(line)
			if len(line) >= 16 {
				text = bytes.ReplaceAll(text, line, []byte(redacted))
			}
		}
	}
	return text
}

func (r redactor) string(s string) string { return string(r.apply([]byte(s))) }

func newAPIError(method, path string, status int, body []byte, secrets redactor) *APIError {
	body = secrets.apply(bytes.TrimSpace(body))
	if len(body) > maxErrorBody {
		body = append(body[:maxErrorBody:maxErrorBody], "…"...)
	}
	return &APIError{StatusCode: status, Method: method, Path: path, Body: string(body)}
}
