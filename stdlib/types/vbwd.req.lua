---@meta _
-- Hand-written (not generated): the req object a route handler receives.
-- Keep it in step with engine/request.go.

---The request a route handler receives. Fields are read on demand and are
---read-only (a handler may set fields of its own on req); req must not be
---kept after the handler returns: reading it then raises an error.
---@class vbwd.req
---@field method string # "GET", "POST", "PUT", "PATCH" or "DELETE"
---@field path string # the URL path, e.g. "/api/v1/tarot/cards/7"
---@field params table<string, string> # path parameters of the route pattern: "/cards/{id}" gives params.id; a trailing "/*" gives params.rest
---@field query table<string, string> # query parameters, the first value of each; see req:query_all
---@field headers table<string, string> # request headers by lower-case name, several values joined with ", "
---@field body string # the raw body ("" when there is none), bounded by the body limit (413 beyond)
---@field host string # the Host the client asked for
---@field remote_addr string # the client's address, "ip:port"
---@field request_id string # the request id, also sent back in the X-Request-Id header and in error bodies
---@field user vbwd.user? # the authenticated caller; nil until authentication is configured
local req = {}

---The body decoded as JSON (objects are tables, arrays marked arrays, null is
---json.null). A missing or malformed body answers 400 (it raises a status
---error).
---@return any
function req:json() end

---Every value of the query parameter name, in order (an empty array when
---it is absent): `?tag=a&tag=b` gives { "a", "b" }.
---@param name string
---@return string[]
function req:query_all(name) end

---The caller of an authenticated request.
---@class vbwd.user
---@field id string # the user's id
---@field roles string[] # the user's roles
---@field claims table<string, any> # the token's other claims
