package outbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Which plugins subscribe to which durable events, remembered in
// vbwd.event_subscriptions so that an event is not marked delivered while
// a subscriber is disabled or failed to build (outbox.go parks it). Rows
// are written from the serving generations each time the registry index
// changes (and every subsRefresh, which also picks up what other engines
// on the database wrote): a serving plugin's rows become exactly the events
// its handlers take; a plugin not serving keeps its rows (its events wait);
// a plugin no longer installed (no plugins/<name>/init.lua) loses them.

// subsRefresh bounds how stale the subscriptions seen by the workers get.
const subsRefresh = 10 * time.Second

type subsCache struct {
	mu      sync.Mutex
	ix      Index // the index the rows were written from
	at      time.Time
	byEvent map[string][]string // event name -> subscribed plugins
}

const (
	syncSubsSQL = `with cur as (select * from unnest($1::text[], $2::text[]) as c(plugin, event)),
	gone as (delete from vbwd.event_subscriptions s where s.plugin = any($3::text[])
		and not exists (select 1 from cur where cur.plugin = s.plugin and cur.event = s.event))
	insert into vbwd.event_subscriptions (plugin, event) select plugin, event from cur on conflict do nothing`
	forgetSubsSQL = `delete from vbwd.event_subscriptions where plugin = any($1::text[])`
	unparkSQL     = `update vbwd.events_outbox set status = 'pending', next_attempt_at = now(), waiting_for = null
	where status = 'parked' and waiting_for && $1::text[]`
)

// subscribers returns the known subscribers by event name, writing this
// engine's serving handlers first when the index changed, and wakes the
// events parked for a plugin that serves again.
func (ob *outbox) subscribers(ctx context.Context) (map[string][]string, error) {
	c := &ob.subs
	c.mu.Lock()
	defer c.mu.Unlock()
	ix := ob.h.Index()
	if ix == c.ix && time.Since(c.at) < subsRefresh {
		return c.byEvent, nil
	}
	byEvent, err := ob.syncSubscriptions(ctx, ix)
	if err != nil {
		return nil, fmt.Errorf("event subscriptions: %w", err)
	}
	c.ix, c.at, c.byEvent = ix, time.Now(), byEvent
	return byEvent, nil
}

func (ob *outbox) syncSubscriptions(ctx context.Context, ix Index) (map[string][]string, error) {
	plugins, events, servingSet := ix.Subscriptions()
	var serving []string
	for p := range servingSet {
		serving = append(serving, p)
	}
	if _, err := ob.db.Exec(ctx, syncSubsSQL, plugins, events, serving); err != nil {
		return nil, err
	}
	rows, err := ob.db.Query(ctx, "select plugin, event from vbwd.event_subscriptions")
	if err != nil {
		return nil, err
	}
	type sub struct{ Plugin, Event string }
	subs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[sub])
	if err != nil {
		return nil, err
	}
	byEvent := map[string][]string{}
	var gone []string
	for _, s := range subs {
		if !servingSet[s.Plugin] && !ob.installed(s.Plugin) {
			gone = append(gone, s.Plugin)
			continue
		}
		byEvent[s.Event] = append(byEvent[s.Event], s.Plugin)
	}
	if len(gone) > 0 {
		sort.Strings(gone)
		ob.c.Log.Info("events: forgetting the subscriptions of plugins no longer installed "+
			"(events already parked for them wait for POST /admin/events/parked/discard)", "plugins", gone)
		if _, err := ob.db.Exec(ctx, forgetSubsSQL, gone); err != nil {
			return nil, err
		}
	}
	tag, err := ob.db.Exec(ctx, unparkSQL, serving)
	if err != nil {
		return nil, err
	}
	if tag.RowsAffected() > 0 {
		ob.c.Log.Info("events: parked events resume: their subscribers run again", "events", tag.RowsAffected())
		ob.wakeAll()
	}
	return byEvent, nil
}

// installed reports whether plugins/<name>/init.lua exists under the root.
func (ob *outbox) installed(name string) bool {
	if name == "" || filepath.Base(name) != name {
		return false
	}
	_, err := os.Stat(filepath.Join(ob.c.Root, "plugins", name, "init.lua"))
	return !errors.Is(err, os.ErrNotExist)
}

// anyServing reports whether one of plugins serves now.
func (ob *outbox) anyServing(plugins []string) bool {
	for _, p := range plugins {
		if ob.h.Serving(p) {
			return true
		}
	}
	return false
}
