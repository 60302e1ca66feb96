package engine

import (
	"context"
	"testing"
	"time"
)

// An engine that answers /readyz relays the stream events published from
// then on: readiness waits for the stream relay's first LISTEN. Before, an
// event published right after readiness (the LISTEN connection still coming
// up) reached no client, and a load balancer sends traffic on /readyz.
func TestReady_WaitsForTheStreamRelaysListen(t *testing.T) {
	_, url := newDB(t)
	root := writeRoot(t, files{"plugins/chat/init.lua": pluginSrc("chat", "", chatPlugin)})
	te := startEngine(t, root, func(o *Options) { o.DB = openPool(t, url) })
	deadline := time.Now().Add(10 * time.Second)
	for ok, why := te.Ready(context.Background()); !ok; ok, why = te.Ready(context.Background()) {
		if time.Now().After(deadline) {
			t.Fatalf("not ready within 10s: %v", why)
		}
		time.Sleep(time.Millisecond)
	}
	s := openStream(t, te.srv.URL+"/api/chat/rooms/1/events")
	s.next(t) // hello
	// One publish, no retry: it must be relayed.
	if r := te.do(t, "POST", "/api/chat/rooms/1/messages", `{"text": "first"}`); r.status != 201 {
		t.Fatalf("publish: %d %s", r.status, r.body)
	}
	if ev := s.next(t); ev != "event: message\ndata: {\"text\":\"first\"}" {
		t.Errorf("event: %q", ev)
	}
}
