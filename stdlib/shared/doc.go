// Package shared is the vbwd.shared host module: a per-plugin key/value
// store with expiry, shared by every Lua state of the plugin (and by its old
// and new generations across a reload), safe for concurrent use.
//
//	local shared = require("vbwd.shared")
//	local hits = shared.incr("hits:" .. day, 1, 86400) -- atomic; the TTL is set on creation
//	if shared.add("lock:import", true, 30) then ... end -- only if absent
//	shared.set("config:cache", { rates = rates }, 300)
//	local cached = shared.get("config:cache")           -- a fresh copy, or nil
//
// Module-level Lua variables are per state; this store is how a plugin keeps
// state across requests without a database. Values are JSON-like data and are
// copied in and out (internal/luaconv), so no Lua table is ever shared
// between states. Keys are non-empty strings of at most MaxKeyLen bytes; a
// bucket holds at most MaxKeys live keys and a value at most MaxValueSize
// bytes (measured as its JSON-like size); going over returns nil and an error.
//
// Expired entries are invisible at once, removed when touched, and swept in
// bulk by Store.Sweep, which the engine calls periodically: New starts no
// goroutine.
//
// Writes (set, add, incr, delete) raise an error during the build phase
// (initialize, routes, on_enable): that code runs once per pooled state, so a
// write there would happen an unpredictable number of times.
package shared
