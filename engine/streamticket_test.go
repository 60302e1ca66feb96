package engine

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vbwd-platform/vbwd-engine/internal/auth"
)

// roomPlugin has a stream route for signed-in users, one that needs a
// permission, and a publish route giving events ids.
const roomPlugin = `
local stream = require("vbwd.stream")
function P.routes(r)
  r:get("/rooms/{id}/events", { stream = true, auth = true }, function(req)
    local seen = req.user.id .. (req.query.ticket and " saw the ticket" or "")
    return { channel = "room.r" .. req.params.id, events = { { event = "hello", id = "h", data = seen } } }
  end)
  r:get("/vault/events", { stream = true, permission = "room.vault" }, function(req)
    return { channel = "room.vault" }
  end)
  r:post("/rooms/{id}/messages", function(req)
    local m = req:json()
    assert(stream.publish("room.r" .. req.params.id, m.text, "message", m.id))
    return 201, {}
  end)
end`

func ticketFor(t *testing.T, te *testEngine, token, path string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", te.srv.URL+"/stream-tickets", strings.NewReader(`{"path": "`+path+`"}`))
	req.Header.Set("Authorization", "Bearer "+token)
	res := te.doReq(t, req)
	tk, _ := res.json["ticket"].(string)
	return res.status, tk
}

// streamStatus GETs url and returns the status without reading the body: a
// stream that wrongly opens must fail the test, not hang it.
func streamStatus(t *testing.T, url string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") == "text/event-stream" {
		return resp.StatusCode, "(an event stream)"
	}
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// doReq sends req and reads the answer like do.
func (te *testEngine) doReq(t testing.TB, req *http.Request) result {
	t.Helper()
	resp, err := te.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	res := result{status: resp.StatusCode, header: resp.Header, body: string(b)}
	_ = json.Unmarshal(b, &res.json)
	return res
}

// TestStreamTicket_SingleUseAcrossEngines: a ticket issued by one engine
// opens a stream on another sharing the secret and the database, once; it
// opens only its own path, runs as its user, and is checked against the
// route's permission.
func TestStreamTicket_SingleUseAcrossEngines(t *testing.T) {
	const secret = "ticket-secret"
	_, url := newDB(t)
	root := writeRoot(t, files{"plugins/room/init.lua": pluginSrc("room", "", roomPlugin)})
	mod := func(o *Options) { o.DB, o.JWTSecret = openPool(t, url), secret }
	a, b := startEngine(t, root, mod), startEngine(t, root, mod)
	tok, _ := auth.Mint(secret, "alice", []string{"member"}, time.Hour, time.Now())
	status, tk := ticketFor(t, a, tok, "/api/room/rooms/7/events")
	if status != 201 || tk == "" {
		t.Fatalf("issue: %d", status)
	}
	if status, body := streamStatus(t, b.srv.URL+"/api/room/rooms/8/events?ticket="+tk); status != 401 {
		t.Errorf("a ticket opened another path: %d %s", status, body)
	}
	s := openStream(t, b.srv.URL+"/api/room/rooms/7/events?ticket="+tk)
	if s.resp.StatusCode != 200 {
		t.Fatalf("stream with the ticket on b: %d", s.resp.StatusCode)
	}
	if ev := s.next(t); ev != "id: h\nevent: hello\ndata: alice" {
		t.Errorf("first event: %q (the stream runs as the ticket's user, which does not see the ticket)", ev)
	}
	if status, body := streamStatus(t, a.srv.URL+"/api/room/rooms/7/events?ticket="+tk); status != 401 || !strings.Contains(body, "already used") {
		t.Errorf("the ticket used on b opened a stream on a: %d %s", status, body)
	}
	if status, _ := streamStatus(t, a.srv.URL+"/api/room/rooms/7/events?ticket=forged"); status != 401 {
		t.Errorf("a forged ticket: %d", status)
	}
	// alice lacks room.vault: the ticket is issued, the stream refused.
	if status, tk := ticketFor(t, a, tok, "/api/room/vault/events"); status != 201 {
		t.Errorf("issue for vault: %d", status)
	} else if status, body := streamStatus(t, b.srv.URL+"/api/room/vault/events?ticket="+tk); status != 403 {
		t.Errorf("a ticket without the route's permission: %d %s", status, body)
	}
	if status, _ := ticketFor(t, a, tok, "/api/room/rooms/7/messages"); status != 404 {
		t.Errorf("a ticket for a route that is no stream: %d", status)
	}
}

// TestStream_LastEventID: a client reconnecting with Last-Event-ID (or
// last_event_id in the query) gets the events after that id from the
// engine's history instead of the handler's replay; an id no longer held
// gets the handler's events.
func TestStream_LastEventID(t *testing.T) {
	const secret = "s"
	root := writeRoot(t, files{"plugins/room/init.lua": pluginSrc("room", "", roomPlugin)})
	te := startEngine(t, root, func(o *Options) { o.JWTSecret = secret })
	tok, _ := auth.Mint(secret, "bob", nil, time.Hour, time.Now())
	open := func(lastID, query string) *sseReader {
		req, _ := http.NewRequest("GET", te.srv.URL+"/api/room/rooms/1/events"+query, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		if lastID != "" {
			req.Header.Set("Last-Event-ID", lastID)
		}
		resp, err := te.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return &sseReader{resp: resp, sc: bufio.NewScanner(resp.Body)}
	}
	first := open("", "")
	first.next(t) // hello
	for _, id := range []string{"1", "2", "3"} {
		if res := te.do(t, "POST", "/api/room/rooms/1/messages", `{"text": "m`+id+`", "id": "`+id+`"}`); res.status != 201 {
			t.Fatal(res.body)
		}
		if ev := first.next(t); !strings.Contains(ev, "data: m"+id) {
			t.Fatalf("live: %q", ev)
		}
	}
	first.resp.Body.Close()
	for _, tc := range []struct{ header, query, want string }{
		{"1", "", "id: 2\nevent: message\ndata: m2"},
		{"", "?last_event_id=2", "id: 3\nevent: message\ndata: m3"},
		{"gone", "", "id: h\nevent: hello\ndata: bob"},
	} {
		s := open(tc.header, tc.query)
		if ev := s.next(t); ev != tc.want {
			t.Errorf("Last-Event-ID %q%s: first event %q, want %q", tc.header, tc.query, ev, tc.want)
		}
		s.resp.Body.Close()
	}
}
