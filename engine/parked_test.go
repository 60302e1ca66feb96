package engine

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// An event whose known subscriber is disabled is parked for it, never
// marked delivered; it is delivered once the subscriber runs again. An
// event nobody ever subscribed to is delivered (nothing waits for it).
func TestOutbox_EventWaitsForADisabledSubscriber(t *testing.T) {
	_, url := newDB(t)
	te := startOutboxEngine(t, outboxRoot(t, nil), url, outboxGate{}, EventOptions{})
	ctx := context.Background()
	first, _ := publishVia(t, te, `{"payload": 1}`)
	waitStatus(t, te, first, "delivered")
	if err := te.SetEnabled(ctx, "sink", false, false); err != nil {
		t.Fatal(err)
	}
	id, _ := publishVia(t, te, `{"payload": 2}`)
	waitStatus(t, te, id, "parked")
	if r := te.admin(t, "GET", "/admin/events/parked?plugin=sink", ""); r.status != 200 ||
		!strings.Contains(r.body, id) || !strings.Contains(r.body, `"waiting_for":["sink"]`) {
		t.Errorf("parked list: %d %s", r.status, r.body)
	}
	if err := te.SetEnabled(ctx, "sink", true, false); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, te, id, "delivered")
	if n := countRows(t, te, "select count(*) from sink.sink_seen where event_id = $1", id); n != 1 {
		t.Errorf("the parked event was handled %d times after the subscriber came back", n)
	}
}

// Ops discard parked events for a plugin through the admin API: one, then
// all; a discarded event is done for that plugin (delivered when nothing
// else waits) and the plugin does not see it when it comes back.
func TestOutbox_DiscardParkedEvents(t *testing.T) {
	_, url := newDB(t)
	te := startOutboxEngine(t, outboxRoot(t, nil), url, outboxGate{}, EventOptions{})
	ctx := context.Background()
	warm, _ := publishVia(t, te, `{"payload": 0}`)
	waitStatus(t, te, warm, "delivered")
	if err := te.SetEnabled(ctx, "sink", false, false); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 3 {
		id, _ := publishVia(t, te, fmt.Sprintf(`{"payload": %d}`, i+1))
		ids = append(ids, id)
	}
	for _, id := range ids {
		waitStatus(t, te, id, "parked")
	}
	if r := te.admin(t, "POST", "/admin/events/parked/discard?plugin=sink&id="+ids[0], ""); r.status != 200 || r.json["discarded"] != float64(1) {
		t.Fatalf("discard one: %d %s", r.status, r.body)
	}
	waitStatus(t, te, ids[0], "delivered")
	if st, _, _ := outboxRow(t, te, ids[1]); st != "parked" {
		t.Errorf("discarding one touched another: %s", st)
	}
	if r := te.admin(t, "POST", "/admin/events/parked/discard?plugin=sink", ""); r.status != 200 || r.json["discarded"] != float64(2) {
		t.Fatalf("discard all: %d %s", r.status, r.body)
	}
	for _, id := range ids {
		waitStatus(t, te, id, "delivered")
	}
	if r := te.admin(t, "POST", "/admin/events/parked/discard", ""); r.status != 400 {
		t.Errorf("discard without a plugin: %d %s", r.status, r.body)
	}
	if err := te.SetEnabled(ctx, "sink", true, false); err != nil {
		t.Fatal(err)
	}
	after, _ := publishVia(t, te, `{"payload": 9}`)
	waitStatus(t, te, after, "delivered")
	if n := countRows(t, te, "select count(*) from sink.sink_seen where event_id = any($1::uuid[])", ids); n != 0 {
		t.Errorf("%d discarded events reached the plugin", n)
	}
}

// An event nobody subscribes to is delivered at once, never parked.
func TestOutbox_EventWithoutSubscribersIsNotParked(t *testing.T) {
	_, url := newDB(t)
	root := outboxRoot(t, files{"plugins/sink/init.lua": pluginSrc("sink", "", "")})
	te := startOutboxEngine(t, root, url, outboxGate{}, EventOptions{})
	id, _ := publishVia(t, te, `{"payload": 1}`)
	waitStatus(t, te, id, "delivered")
}

// Per-handler success tracking holds across parking: with two subscribers
// and one disabled, the running one handles the event once; when the other
// comes back only it runs.
func TestOutbox_ParkedEventRunsOnlyTheMissingHandler(t *testing.T) {
	_, url := newDB(t)
	root := outboxRoot(t, files{
		"plugins/audit/init.lua": pluginSrc("audit", "", `
local db = require("vbwd.db")
function P.on_enable(ctx)
  ctx:on("src.saved", function(ev) assert(db.exec("insert into audit_seen (event_id) values ($1)", ev.id)) end)
end`),
		"plugins/audit/migrations/20260101000000_seen.sql": "-- migrate:up\ncreate table audit_seen (event_id uuid);\n-- migrate:down\ndrop table audit_seen;\n",
	})
	te := startOutboxEngine(t, root, url, outboxGate{}, EventOptions{})
	ctx := context.Background()
	warm, _ := publishVia(t, te, `{"payload": 0}`)
	waitStatus(t, te, warm, "delivered")
	if err := te.SetEnabled(ctx, "audit", false, false); err != nil {
		t.Fatal(err)
	}
	id, _ := publishVia(t, te, `{"payload": 1}`)
	waitStatus(t, te, id, "parked")
	if n := countRows(t, te, "select count(*) from sink.sink_seen where event_id = $1", id); n != 1 {
		t.Errorf("the running subscriber handled the event %d times before parking", n)
	}
	if err := te.SetEnabled(ctx, "audit", true, false); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, te, id, "delivered")
	if n := countRows(t, te, "select count(*) from sink.sink_seen where event_id = $1", id); n != 1 {
		t.Errorf("sink handled the event %d times: it was re-run after the parking", n)
	}
	if n := countRows(t, te, "select count(*) from audit.audit_seen where event_id = $1", id); n != 1 {
		t.Errorf("audit handled the event %d times", n)
	}
}
