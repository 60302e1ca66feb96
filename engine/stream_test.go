package engine

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

const chatPlugin = `
local stream = require("vbwd.stream")
function P.routes(r)
  r:get("/rooms/{id}/events", { stream = true }, function(req)
    if req.params.id == "closed" then error({ status = 403, message = "room closed" }) end
    return { channel = "chat.room." .. req.params.id, events = { { event = "hello", id = "0", data = { room = req.params.id } } } }
  end)
  r:post("/rooms/{id}/messages", function(req)
    local ok, err = stream.publish("chat.room." .. req.params.id, { text = req:json().text }, "message")
    if not ok then error(err) end
    return 201, {}
  end)
end`

// sseReader reads server-sent events from a real HTTP connection.
type sseReader struct {
	resp *http.Response
	sc   *bufio.Scanner
}

func openStream(t *testing.T, url string) *sseReader {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return &sseReader{resp: resp, sc: bufio.NewScanner(resp.Body)}
}

// next returns the next event's lines ("event: x", "data: y"), skipping comments.
func (s *sseReader) next(t *testing.T) string {
	t.Helper()
	done := make(chan string, 1)
	go func() {
		var lines []string
		for s.sc.Scan() {
			l := s.sc.Text()
			if l == "" && len(lines) > 0 {
				break
			}
			if l != "" && !strings.HasPrefix(l, ":") {
				lines = append(lines, l)
			}
		}
		done <- strings.Join(lines, "\n")
	}()
	select {
	case ev := <-done:
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10s")
		return ""
	}
}

func TestStream_WithoutHoldingAState(t *testing.T) {
	te := startEngine(t, writeRoot(t, files{"plugins/chat/init.lua": pluginSrc("chat", "", chatPlugin)}), nil)
	s := openStream(t, te.srv.URL+"/api/chat/rooms/42/events")
	if ct := s.resp.Header.Get("Content-Type"); s.resp.StatusCode != 200 || ct != "text/event-stream" {
		t.Fatalf("stream: %d %s", s.resp.StatusCode, ct)
	}
	if ev := s.next(t); ev != "id: 0\nevent: hello\ndata: {\"room\":\"42\"}" {
		t.Errorf("first event: %q", ev)
	}
	if st := te.status(t, "chat"); st.Pool.InUse != 0 {
		t.Errorf("an open stream holds %d Lua states", st.Pool.InUse)
	}
	if r := te.do(t, "POST", "/api/chat/rooms/42/messages", `{"text": "hi"}`); r.status != 201 {
		t.Fatalf("publish: %d %s", r.status, r.body)
	}
	if ev := s.next(t); ev != "event: message\ndata: {\"text\":\"hi\"}" {
		t.Errorf("published event: %q", ev)
	}
	if r := te.do(t, "GET", "/api/chat/rooms/closed/events", ""); r.status != 403 {
		t.Errorf("a refused stream: %d %s", r.status, r.body)
	}
	done := make(chan struct{})
	go func() { s.next(t); close(done) }()
	if err := te.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Error("shutdown did not end the stream")
	}
}

// TestStream_AcrossEngines: a subscriber on one engine receives what a
// plugin publishes on another engine sharing the database.
func TestStream_AcrossEngines(t *testing.T) {
	_, url := newDB(t)
	root := writeRoot(t, files{"plugins/chat/init.lua": pluginSrc("chat", "", chatPlugin)})
	a := startEngine(t, root, func(o *Options) { o.DB = openPool(t, url) })
	b := startEngine(t, root, func(o *Options) { o.DB = openPool(t, url) })
	s := openStream(t, b.srv.URL+"/api/chat/rooms/7/events")
	s.next(t) // hello
	// Publish on a until b relays it: b's LISTEN connection may still be
	// coming up, and an event published before it is, is not kept.
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			if r := a.do(t, "POST", "/api/chat/rooms/7/messages", `{"text": "from a"}`); r.status != 201 {
				t.Errorf("publish on a: %d %s", r.status, r.body)
				return
			}
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	if ev := s.next(t); ev != "event: message\ndata: {\"text\":\"from a\"}" {
		t.Errorf("event on b: %q", ev)
	}
}
