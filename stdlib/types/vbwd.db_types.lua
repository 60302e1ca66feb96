---@meta _
-- Hand-written (not generated): the values vbwd.db hands to Lua — rows,
-- error tables and the tx table of db.tx. Keep it in step with
-- stdlib/db/errors.go (dbError.toLua) and stdlib/db/tx.go (txTable).

---A row: column name to value. NULL columns are absent; integers and floats
---are numbers, numeric a string (exact), timestamptz an RFC 3339 UTC string,
---date "YYYY-MM-DD", json/jsonb tables, arrays arrays.
---@alias vbwd.db.row table<string, any>

---The error table of a failed database call. `tostring(err)` gives
---"vbwd.db: <message> (SQLSTATE <code>)"; `error(err)` in a handler answers
---503 with Retry-After when class is "connection", else 500.
---@class vbwd.db.error
---@field message string # what went wrong, as PostgreSQL or the engine says it
---@field code? string # the SQLSTATE ("23505" unique violation, "40001" serialization failure, ...), "57014" for the statement timeout, or "deadline" / "cancelled" for a call ended by the request deadline or its cancellation
---@field constraint? string # the violated constraint
---@field detail? string # PostgreSQL's DETAIL
---@field hint? string # PostgreSQL's HINT
---@field schema? string
---@field table? string
---@field column? string
---@field plugin? string # the plugin that made the call
---@field class? "connection" # the database could not be reached

---The transaction passed to db.tx(fn). Its functions raise
---"vbwd.db: transaction is closed" once fn has returned.
---@class vbwd.db.tx
local tx = {}

---Run sql in the transaction and return its rows, or nil and an error table.
---@param sql string
---@param ... any
---@return vbwd.db.row[]?
---@return vbwd.db.error? err
function tx.query(sql, ...) end

---Run sql in the transaction and return its first row (nil when there is
---none), or nil and an error table.
---@param sql string
---@param ... any
---@return vbwd.db.row?
---@return vbwd.db.error? err
function tx.query_one(sql, ...) end

---Run a statement in the transaction and return the number of rows it
---affected, or nil and an error table.
---@param sql string
---@param ... any
---@return integer?
---@return vbwd.db.error? err
function tx.exec(sql, ...) end

---Run fn(sp) in a savepoint of the transaction: released when fn returns,
---rolled back to when fn raises (which re-raises). Raises as db.tx does.
---@param fn fun(sp: vbwd.db.tx): ...any
---@return any ...
function tx.tx(fn) end
