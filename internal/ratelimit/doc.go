// Package ratelimit counts requests in fixed windows for the route option
// rate = "5/m" (or {limit = "5/m", key = "ip" | "user"}).
//
// Counts are shared by every engine on one PostgreSQL: one small table,
// vbwd.rate_limits, with a row per key and window, incremented by an UPSERT
// that returns the new count (PGStore). A fixed window lets a client send up
// to twice the limit around a window's edge; that is the price of one
// statement per request and no clock agreement between nodes beyond
// PostgreSQL's own (the window is computed from the engine's clock, which
// NTP keeps within the window's resolution). Without a database, counts are
// per process (MemStore).
//
// A store that fails (the database is down) lets the request through and
// the engine logs it: the limiter protects against abuse, it must not turn a
// database outage into an outage of routes that do not use the database.
package ratelimit
