package emcotest

import (
	"crypto/subtle"
	"net/http"
	"strings"
)

// RequireBearerToken wraps h so that a request without "Authorization: Bearer
// <token>" is answered 401 text/plain, as an authenticating ingress in front of
// EMCO would (EMCO's services check no token themselves). The token is never
// written to the answer.
func RequireBearerToken(token string, h http.Handler) http.Handler {
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := r.Header.Get("Authorization")
		// The scheme is case-insensitive (RFC 9110 §11.1); the token is not.
		if len(got) > len("Bearer ") && strings.EqualFold(got[:len("Bearer ")], "Bearer ") {
			got = "Bearer " + got[len("Bearer "):]
		}
		if token == "" || subtle.ConstantTimeCompare([]byte(got), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="emco"`)
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}
