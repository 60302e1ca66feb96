// Package db is the vbwd.db host module: PostgreSQL for plugins, with
// parameters only (there is no interpolation helper). The engine gives each
// plugin a pool that logs in as the plugin's own database role, with the
// plugin's schema as search_path (Options.Pool; engine/plugindb/dbroles.go).
//
//	local db = require("vbwd.db")
//	local rows, err = db.query("select id, title from notes where owner = $1 order by id", user_id)
//	local note = db.query_one("select * from notes where id = $1", id)  -- nil when there is none
//	local n, err = db.exec("delete from notes where id = $1", id)       -- rows affected
//	local id = db.tx(function(tx)
//	  local row = tx.query_one("insert into notes (title) values ($1) returning id", title)
//	  tx.exec("insert into notes_log (note_id) values ($1)", row.id)
//	  return row.id
//	end)
//
// # Calls and errors
//
// Every call runs under the state's context (the request's, with its
// deadline; context.Background when the state has none), bounded by
// Options.StatementTimeout when that comes first. Runtime failures return
// nil and an error table:
//
//	{ message = 'duplicate key value violates unique constraint "notes_slug_key"',
//	  code = "23505", constraint = "notes_slug_key", detail = "...", table = "notes",
//	  schema = "notes", plugin = "notes" }
//
// with the fields PostgreSQL reported (message, code, and when present
// constraint, detail, hint, schema, table, column) and the plugin name. Its
// __tostring gives "vbwd.db: <message> (SQLSTATE <code>)", so error(err) and
// tostring(err) read well. A call cut short by the request's deadline has
// message "query cancelled by the request deadline" and code "57014" when
// PostgreSQL reported query_canceled, else "deadline"; by the statement
// timeout, "query cancelled by the statement timeout (<d>)"; by a cancelled
// request, code "cancelled". Errors that do not come from PostgreSQL (a
// parameter pgx cannot encode for the column type, a lost connection) have
// only a message. Without a database every call returns nil and
// "no database configured".
//
// Bad arguments raise: sql that is not a string, a parameter that is a
// function, coroutine or userdata other than db.null, a table that is not
// data (cyclic, or holding functions). Every function but db.json (which
// does no I/O) also raises during the build phase (initialize, routes,
// on_enable), which runs once per pooled state: use populate.lua or a route.
//
// # Transactions
//
// db.tx(fn) begins a transaction, calls fn(tx), commits when fn returns and
// returns fn's results. When fn raises it rolls back and re-raises the very
// value fn raised, so error({status = 409, message = "..."}) still reaches
// the engine as that table. If the commit fails (also when a statement
// failed inside and left the transaction aborted) it returns nil and an
// error table. tx offers query, query_one and exec on the transaction, and
// tx.tx(fn), a nested transaction on a SAVEPOINT with the same rules: an
// inner rollback keeps the outer work; an outer rollback discards
// everything. After its transaction ended, any function of tx raises
// "vbwd.db: transaction is closed".
//
// While db.tx runs, db.query, db.query_one, db.exec and db.tx of the same
// state (coroutines included) go to the innermost open transaction rather
// than to another connection of the pool: code that takes no tx argument
// joins the caller's transaction, and db.tx inside a transaction is a
// savepoint. The functions of an outer tx still work inside a savepoint and
// run inside it, as SQL on that connection would. CurrentTx gives Go host
// modules the same transaction. A coroutine must not yield inside db.tx:
// gopher-lua cannot resume a Go call, so db.tx rolls back and raises.
//
// # Parameters
//
// $1, $2, ... take the arguments after sql:
//
//   - nil and db.null are NULL (db.null is json.null);
//   - booleans are booleans; numbers are int64 when integral (float64
//     otherwise), and fill integer, float, numeric and text parameters;
//   - strings are sent as text and parsed by PostgreSQL as the parameter's
//     type (numeric, uuid, date, timestamptz, interval, json, enums, ...); a
//     bytea parameter gets the string's bytes exactly, NUL bytes included;
//   - an array table (keys 1..n, or an empty json.array()) is an array
//     parameter: []string, []int64, []float64 or []bool when its elements
//     are all of one kind, else elements converted one by one (db.null is a
//     NULL element; tables are JSON-like data). One dimension only. For a
//     json or jsonb parameter the array is encoded as a JSON array;
//   - any other table is encoded as JSON (for json and jsonb parameters);
//     db.json(v) does that for an array table too, and is JSON text.
//
// # Results
//
// query returns a marked array (json.array) of rows; a row is a table keyed
// by column name, where NULL columns are absent (row.x == nil). Values:
//
//	int2, int4, int8, oid    number (integral; int8 beyond 2^53 loses precision)
//	float4, float8           number (NaN and infinities included)
//	numeric                  string, exact, as PostgreSQL writes it ("12.50", "NaN")
//	text, varchar, char,
//	name, citext             string
//	bool                     boolean
//	uuid                     string, canonical 8-4-4-4-12 lower-case
//	timestamptz              string, RFC 3339 in UTC, fraction only when non-zero
//	                         ("2026-11-26T12:00:00.5Z"), or "infinity"/"-infinity"
//	timestamp                string, the same without offset ("2026-11-26T12:00:00")
//	date                     string "YYYY-MM-DD" ("0044-03-15 BC" before year 1)
//	time                     string "HH:MM:SS[.ffffff]", trailing zeros dropped
//	interval                 string as PostgreSQL writes it ("1 year 2 mons 3 days 04:05:06")
//	json, jsonb              Lua values: objects are tables, arrays marked
//	                         arrays, JSON null is db.null
//	bytea                    string of the raw bytes
//	arrays of the above      marked arrays (nested for several dimensions),
//	                         NULL elements are db.null
//	enums, other types       PostgreSQL's text form ("[1,5)", "192.168.0.1/24",
//	                         "(1,a)" for a record); an array of enums is its
//	                         text form too ("{happy,sad}"): cast it to text[]
//
// Rows are decoded from the wire bytes (pgx's RawValues) with a decoder
// chosen once per column. The types of the table are asked for in binary,
// so their strings do not depend on the session's TimeZone, DateStyle or
// IntervalStyle; the other types come as text (whose form may, as for
// tsrange, follow DateStyle). A pool set to pgx's simple protocol (every
// value as text) gives the same Lua values with ISO DateStyle and postgres
// IntervalStyle, but cannot send a string with a NUL byte.
package db
