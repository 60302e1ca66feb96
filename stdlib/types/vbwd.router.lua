---@meta _
-- Hand-written (not generated): the router object passed to routes(r).
-- Keep it in step with engine/registration.go and engine/handler.go.

---Options of one route.
---@class vbwd.route_opts
---@field permission? string # permission the caller needs; until authentication is configured such a route answers 401
---@field timeout? number # seconds, in (0, 3600]: overrides the engine's request timeout (--request-timeout) for this route
---@field body_limit? integer # bytes: overrides the engine's body limit (--max-body) for this route; 413 beyond
---@field auth? boolean # a signed-in user is required (401 without a valid token), whatever the roles
---@field body? table|string # a JSON Schema (a table, or the path of a file under the plugin's schemas/) the JSON body must satisfy; else 422 {"error": "invalid request", "fields": [{pointer, message, in}]} before the handler runs
---@field query? table|string # a JSON Schema for the query parameters as an object (values converted to the integer, number or boolean their property declares); else 422 as for body
---@field stream? boolean # a server-sent event stream: the handler returns {channel = "<plugin>.<name>", events = {{event?, id?, data}}} and the engine keeps the connection (vbwd.stream.publish sends to it) without holding a Lua state
---@field summary? string # one line describing the route in /openapi.json
---@field response? table # JSON Schema (as a Lua table) of the 200 body, published in /openapi.json; checked when the route is registered

---A route handler. It returns `status, body[, headers]`:
---
--- - `status` is an integer in 100..599; `body` a table is sent as JSON (a
---   table with keys 1..n is an array; `json.array()` marks an empty one), a
---   string as text/plain (or the Content-Type given in headers); `headers`
---   is a table of header name to value;
--- - returning only a table or a string answers 200 with it as the body
---   (a second value is then the headers); returning nothing answers 204;
--- - `error({ status = 404, message = "no such card" })` answers that status
---   with `{"error": "no such card", "request_id": ...}`, other fields of the
---   table added to the body; any other error answers 500
---   `{"error": "internal", "request_id": ...}` and logs the plugin,
---   file:line and traceback;
--- - past its deadline the call answers 504; when every Lua state of the
---   plugin stays busy until the deadline, 503.
---@alias vbwd.handler fun(req: vbwd.req): integer|table|string|nil, table|string|nil, table<string, string>|nil

---The router passed to routes(r). Paths are relative to the plugin's
---url_prefix, start with "/" and use chi patterns: "/cards/{id}",
---"/files/*" (the rest is req.params.rest). Each method and path may be
---registered once. r.get(path, ...) works as well as r:get(path, ...).
---@class vbwd.router
local r = {}

---Register a GET route.
---@param path string
---@param opts vbwd.route_opts
---@param handler vbwd.handler
---@overload fun(self: vbwd.router, path: string, handler: vbwd.handler)
function r:get(path, opts, handler) end

---Register a POST route.
---@param path string
---@param opts vbwd.route_opts
---@param handler vbwd.handler
---@overload fun(self: vbwd.router, path: string, handler: vbwd.handler)
function r:post(path, opts, handler) end

---Register a PUT route.
---@param path string
---@param opts vbwd.route_opts
---@param handler vbwd.handler
---@overload fun(self: vbwd.router, path: string, handler: vbwd.handler)
function r:put(path, opts, handler) end

---Register a PATCH route.
---@param path string
---@param opts vbwd.route_opts
---@param handler vbwd.handler
---@overload fun(self: vbwd.router, path: string, handler: vbwd.handler)
function r:patch(path, opts, handler) end

---Register a DELETE route.
---@param path string
---@param opts vbwd.route_opts
---@param handler vbwd.handler
---@overload fun(self: vbwd.router, path: string, handler: vbwd.handler)
function r:delete(path, opts, handler) end
