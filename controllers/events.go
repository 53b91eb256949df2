package controllers

import (
	"fmt"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
)

// maxEventNote is the API server's limit on an Event's note; a longer one is refused and the
// event lost (a Fleet's validation errors easily run longer).
const maxEventNote = 1024

// BoundedEvents wraps a recorder so that no event is lost to a long note: notes are cut to
// the API server's limit, saying so; the full text stays in the object's conditions.
func BoundedEvents(r events.EventRecorder) events.EventRecorder { return boundedEvents{r} }

type boundedEvents struct{ events.EventRecorder }

func (b boundedEvents) Eventf(regarding, related runtime.Object, eventtype, reason, action, note string, args ...any) {
	b.EventRecorder.Eventf(regarding, related, eventtype, reason, action, "%s", boundNote(fmt.Sprintf(note, args...)))
}

func boundNote(s string) string {
	if len(s) <= maxEventNote {
		return s
	}
	const suffix = " … (cut; the full text is in the object's status)"
	cut := maxEventNote - len(suffix)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + suffix
}
