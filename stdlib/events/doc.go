// Package events is the vbwd.events host module: events between plugins,
// synchronous (emit) or durable (publish).
//
//	local events = require("vbwd.events")
//
//	-- in-process: every subscriber runs before emit returns
//	local s = events.emit("tarot.card_drawn", { card = "The Fool", user = req.user.id })
//	-- s = { delivered = 2, failed = { { plugin = "stats", error = "plugins/stats/init.lua:12: ..." } } }
//
//	-- durable, at-least-once: written to the outbox in the open transaction
//	db.tx(function(tx)
//	  tx.exec("insert into tarot_readings (id, card) values ($1, $2)", id, card)
//	  local event_id, err = events.publish("tarot.reading_saved", { id = id })
//	  if not event_id then error(err) end
//	end) -- rolled back: the event never existed; committed: delivered soon
//
// Subscribers register in on_enable; the handler gets one table:
//
//	function P.on_enable(ctx)
//	  ctx:on("tarot.reading_saved", function(ev)
//	    -- ev = { id = "<uuid>", name = "tarot.reading_saved", source = "tarot",
//	    --        payload = { id = ... }, attempt = 1 }
//	    -- ev.id is stable across retries: use it to make the handler idempotent
//	  end)
//	end
//
// # Rules
//
// Event names are <plugin>.<event>, and a plugin emits and publishes only
// its own names (a foreign or malformed name raises). Both functions raise
// during the build phase (initialize, routes, on_enable), which runs once
// per pooled state. Payloads are JSON-like data (tables, strings, numbers,
// booleans, json.null); anything else raises. Each handler receives its own
// copy: no Lua value is shared between states.
//
// emit runs the handlers one after another, in plugin-name order, each in a
// state borrowed from its own plugin's pool, under the emitter's context (its
// deadline and request id). A handler that raises is logged with its plugin
// and file:line and listed in the summary's failed; it never raises in the
// emitter. emit inside db.tx does not put the handlers in that transaction.
// emit nests (a handler may emit) up to a fixed depth. Note that a plugin
// handling its own event needs a second state of its pool while the emitter
// holds one.
//
// publish inserts one row into the engine's outbox table — in the innermost
// db.tx open in the state (stdlib/db.CurrentTx), else on its own — and
// wakes the engine's delivery workers once that transaction commits
// (stdlib/db.AfterCommit; an engine without workers sends NOTIFY instead,
// delivered by PostgreSQL at commit). It returns the event id, or nil and an error. Delivery happens
// later, in the background, to the handlers registered when it happens, with
// retries and a dead-letter state: see the engine package's outbox.go.
// Inside a plugin's transaction the row is written by the engine's SECURITY
// DEFINER function vbwd_api.publish_event (the plugin's database role may
// not touch the outbox itself), which takes the source plugin from the
// role: see engine/plugindb/dbroles.go.
//
// The engine implements Bus and binds one Module to each plugin generation.
package events
