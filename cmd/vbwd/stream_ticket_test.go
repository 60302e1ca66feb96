package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// sseEvent is one dispatched server-sent event.
type sseEvent struct{ id, event, data string }

// eventSource connects as a browser's EventSource does: GET with Accept:
// text/event-stream, no Authorization header (it cannot send one), and
// Last-Event-ID when reconnecting. It parses the stream per the HTML spec
// (id, event, multi-line data, dispatch on a blank line) and sends events
// on the returned channel until the stream ends or close is called.
func eventSource(t *testing.T, url, lastEventID string) (int, <-chan sseEvent, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		t.Logf("stream answered %d: %s", resp.StatusCode, b)
		return resp.StatusCode, nil, func() {}
	}
	ch := make(chan sseEvent, 64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(ch)
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		var data []string
		for sc.Scan() {
			line := sc.Text()
			if line == "" {
				if data != nil {
					ev.data = strings.Join(data, "\n")
					ch <- ev
				}
				ev.event, data = "", nil // id persists, as in EventSource
				continue
			}
			field, value, _ := strings.Cut(line, ":")
			value = strings.TrimPrefix(value, " ")
			switch field {
			case "id":
				ev.id = value
			case "event":
				ev.event = value
			case "data":
				data = append(data, value)
			}
		}
	}()
	return 200, ch, func() { cancel(); resp.Body.Close(); <-done }
}

// next waits for the next event whose type is event.
func next(t *testing.T, events <-chan sseEvent, event string) sseEvent {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatal("the stream ended")
			}
			if ev.event == event {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %q event within 10s", event)
		}
	}
}

// TestStreamTicket_BrowserEventSource: a browser-like EventSource client
// with a stream ticket (no Authorization header) receives meinchat's
// messages; a ticket opens one stream once and only its own path; after a
// reconnect with Last-Event-ID the client receives only what it missed.
func TestStreamTicket_BrowserEventSource(t *testing.T) {
	const secret = "ticket-secret"
	base := serveWalk(t, secret, "subscription", "meinchat")
	alice, bob := mintToken(t, secret, "alice", "subscriber"), mintToken(t, secret, "bob", "subscriber")
	call := func(method, path, tok, body string) (int, map[string]any) {
		t.Helper()
		return walkCall(t, base, method, path, tok, body)
	}
	// meinchat needs a live plan.
	grantBasic(t, base, secret, "alice", "bob")
	teaRoom(t, base, alice, bob)
	const path = "/api/v1/meinchat/rooms/tea/events"
	ticket := func(tok, p string) string {
		t.Helper()
		code, m := call("POST", "/stream-tickets", tok, `{"path": "`+p+`"}`)
		tk, _ := m["ticket"].(string)
		if code != 201 || tk == "" || m["expires_in"] == nil {
			t.Fatalf("POST /stream-tickets: %d %v", code, m)
		}
		return tk
	}
	post := func(text string) string {
		t.Helper()
		code, m := call("POST", "/api/v1/meinchat/rooms/tea/messages", alice, `{"body": "`+text+`"}`)
		if code != 201 {
			t.Fatalf("post: %d %v", code, m)
		}
		return jsonNumber(m["id"])
	}

	// No ticket, no header: the stream needs a user.
	if code, _, _ := eventSource(t, base+path, ""); code != 401 {
		t.Errorf("a stream without ticket or token: %d, want 401", code)
	}
	if code, m := call("POST", "/stream-tickets", "", `{"path": "`+path+`"}`); code != 401 {
		t.Errorf("a ticket without a token: %d %v", code, m)
	}
	if code, m := call("POST", "/stream-tickets", bob, `{"path": "/api/v1/meinchat/rooms"}`); code != 404 {
		t.Errorf("a ticket for a path that is no stream: %d %v", code, m)
	}

	tk := ticket(bob, path)
	status, events, closeStream := eventSource(t, base+path+"?ticket="+tk, "")
	if status != 200 {
		t.Fatalf("stream with a ticket: %d", status)
	}
	m1, m2 := post("one"), post("two")
	if ev := next(t, events, "message"); ev.id != m1 || !strings.Contains(ev.data, `"one"`) {
		t.Fatalf("first message: %+v, want id %s", ev, m1)
	}
	if ev := next(t, events, "message"); ev.id != m2 {
		t.Fatalf("second message: %+v, want id %s", ev, m2)
	}
	closeStream()
	if code, _, _ := eventSource(t, base+path+"?ticket="+tk, ""); code != 401 {
		t.Errorf("a used ticket opened a second stream: %d, want 401", code)
	}
	if code, _, _ := eventSource(t, base+"/api/v1/meinchat/rooms/other/events?ticket="+ticket(bob, path), ""); code != 401 {
		t.Errorf("a ticket opened another path: %d, want 401", code)
	}

	// Missed while away: three and four. Reconnect with Last-Event-ID = two.
	m3, m4 := post("three"), post("four")
	status, events, closeStream = eventSource(t, base+path+"?ticket="+ticket(bob, path), m2)
	if status != 200 {
		t.Fatalf("reconnect: %d", status)
	}
	defer closeStream()
	for _, want := range []string{m3, m4} {
		if ev := next(t, events, "message"); ev.id != want {
			t.Fatalf("after Last-Event-ID %s: got %+v, want id %s (only what was missed, in order)", m2, ev, want)
		}
	}
	m5 := post("five")
	if ev := next(t, events, "message"); ev.id != m5 {
		t.Fatalf("live after the replay: got %+v, want id %s", ev, m5)
	}
}

func jsonNumber(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
