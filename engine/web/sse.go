package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// The server-sent event wire format (engine/serve/stream.go serves the streams).

// ReconnectEvent is the last event of a stream the engine ends: clients
// (EventSource reconnects on its own after retry ms) connect again and
// reach the serving generation.
const ReconnectEvent = "vbwd.reconnect"

// WriteReconnect ends a stream with ReconnectEvent, giving reason.
func WriteReconnect(w http.ResponseWriter, rc *http.ResponseController, reason string) {
	data, _ := json.Marshal(map[string]string{"reason": reason})
	_, _ = w.Write([]byte("retry: 1000\nevent: " + ReconnectEvent + "\ndata: " + string(data) + "\n\n"))
	_ = rc.Flush()
}

// sseLineBreaks are CRLF, CR and LF: each ends a line in an event stream.
var sseLineBreaks = strings.NewReplacer("\r\n", "\n", "\r", "\n")

// CheckSSEField refuses an id or event name that would end its line (and
// so inject fields or events); id may not hold NUL either (the spec ignores
// such an id).
func CheckSSEField(name, v string) error {
	if strings.ContainsAny(v, "\r\n") || (name == "id" && strings.ContainsRune(v, 0)) {
		return fmt.Errorf("stream event %s %q holds a line break (or NUL): not allowed", name, v)
	}
	return nil
}

// WriteSSE writes one event.
func WriteSSE(w http.ResponseWriter, ev StreamEvent) {
	var b strings.Builder
	// fields are checked where events are made; one arriving unchecked
	// (another engine's NOTIFY) is dropped rather than written
	if CheckSSEField("id", ev.ID) != nil || CheckSSEField("event", ev.Event) != nil {
		return
	}
	if ev.ID != "" {
		b.WriteString("id: " + ev.ID + "\n")
	}
	if ev.Event != "" {
		b.WriteString("event: " + ev.Event + "\n")
	}
	for _, line := range strings.Split(sseLineBreaks.Replace(ev.Data), "\n") {
		b.WriteString("data: " + line + "\n")
	}
	b.WriteString("\n")
	_, _ = w.Write([]byte(b.String()))
}
