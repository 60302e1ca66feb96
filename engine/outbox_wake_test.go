package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// listenEvents opens a connection listening on the channel publishes
// notify, as another engine's listener would.
func listenEvents(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	if _, err := c.Exec(ctx, "listen vbwd_events"); err != nil {
		t.Fatal(err)
	}
	return c
}

// notificationsBefore sends a marker notification and returns the payloads
// the listener got before it. PostgreSQL delivers notifications in commit
// order, so this is every notification of what committed earlier.
func notificationsBefore(t *testing.T, te *testEngine, l *pgx.Conn) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := te.opts.DB.Exec(ctx, "select pg_notify('vbwd_events', 'marker')"); err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		n, err := l.WaitForNotification(ctx)
		if err != nil {
			t.Fatalf("waiting for the marker notification: %v", err)
		}
		if n.Payload == "marker" {
			return got
		}
		got = append(got, n.Payload)
	}
}

// An engine with delivery workers wakes them itself once a publishing
// transaction commits: no NOTIFY, which PostgreSQL serialises the commits
// of (the benchmark's write route with a durable event ran at a third of
// the native rate). The workers never poll here, so only that wake-up
// delivers the events.
func TestOutbox_PublishWakesItsOwnWorkersWithoutNotify(t *testing.T) {
	_, url := newDB(t)
	te := startOutboxEngine(t, outboxRoot(t, nil), url, outboxGate{}, EventOptions{PollInterval: time.Hour})
	l := listenEvents(t, url)
	inTx, committed := publishVia(t, te, `{"tx": true, "payload": {"n": 1}}`)
	if !committed {
		t.Fatal("the publishing transaction did not commit")
	}
	alone, _ := publishVia(t, te, `{"payload": {"n": 2}}`)
	waitStatus(t, te, inTx, "delivered")
	waitStatus(t, te, alone, "delivered")
	if got := notificationsBefore(t, te, l); len(got) != 0 {
		t.Errorf("publishing sent %d notifications on vbwd_events, want none", len(got))
	}
}

// An engine without workers (it publishes, others deliver) still notifies:
// the engine that delivers is woken at once, not at its next poll.
func TestOutbox_EngineWithoutWorkersNotifiesTheOthers(t *testing.T) {
	_, url := newDB(t)
	root := outboxRoot(t, nil)
	deliverer := startOutboxEngine(t, root, url, outboxGate{}, EventOptions{PollInterval: time.Hour})
	publisher := startOutboxEngine(t, root, url, outboxGate{}, EventOptions{Workers: -1})
	id, committed := publishVia(t, publisher, `{"tx": true, "payload": {"n": 1}}`)
	if !committed {
		t.Fatal("the publishing transaction did not commit")
	}
	waitStatus(t, deliverer, id, "delivered")
}

const importPublisher = `
local events = require("vbwd.events")
function P.on_enable(ctx)
  ctx:exchanger({
    key = "imp.rows", natural_key = "n", fields = { "n" },
    export = function() return {} end,
    import = function(rows)
      for _, r in ipairs(rows) do assert(events.publish("imp.imported", { n = r.n })) end
      return { created = #rows, updated = 0, skipped = 0, errors = {} }
    end,
  })
end`

// The events an admin import publishes commit with the import's
// transaction, which the engine commits itself (not db.tx): a worker is
// woken then too. The review of the change above found them waiting for
// the poll.
func TestOutbox_ImportWakesTheWorkers(t *testing.T) {
	_, url := newDB(t)
	root := outboxRoot(t, files{"plugins/imp/init.lua": pluginSrc("imp", "", importPublisher)})
	te := startOutboxEngine(t, root, url, outboxGate{}, EventOptions{PollInterval: time.Hour})
	// The listener wakes every worker once it is connected (to catch up):
	// import after that, twice, so that only the import's own wake-up can
	// deliver the second one.
	select {
	case <-te.listening.Wait("published events"):
	case <-time.After(30 * time.Second):
		t.Fatal("the events listener never connected")
	}
	for i, body := range []string{`[{"n": "1"}, {"n": "2"}]`, `[{"n": "3"}]`} {
		r := te.admin(t, "POST", "/admin/data-exchange/imp.rows/import?format=json", body)
		if r.status != 200 || !strings.Contains(r.body, `"committed":true`) {
			t.Fatalf("import %d: %d %s", i+1, r.status, r.body)
		}
		want := []int{2, 3}[i]
		eventually(t, "the imported events delivered", func() bool {
			return countRows(t, te, "select count(*) from vbwd.events_outbox where name = 'imp.imported' and status = 'delivered'") == want
		})
	}
}
