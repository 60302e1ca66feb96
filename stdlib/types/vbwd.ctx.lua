---@meta _
-- Hand-written (not generated): the ctx table passed to on_enable(ctx),
-- on_disable(ctx) and the function populate.lua returns. Keep it in step
-- with engine/registry.go (hookCtx).

---What the engine tells a plugin about itself in on_enable, on_disable and
---populate, and the registrations on_enable makes (refused elsewhere). The
---engine removes every registration when the generation is retired.
---@class vbwd.ctx
---@field plugin string # the plugin's name
---@field version string # the plugin's version, from its manifest
---@field generation integer # the generation number: increases with every load (enable, reload) of the plugin
---@field config table<string, any> # the merged config, as passed to initialize
local ctx = {}

---Declare a permission `<plugin>.<name>`, granted to roles (overridable in the root config.json under vbwd.roles).
---@param key string
---@param spec? {description?: string, roles?: string[]}
function ctx:permission(key, spec) end

---Handle an event `<plugin>.<event>` (emitted synchronously or published durably by its plugin).
---The handler receives {id, name, source, payload, attempt}; an error fails this delivery (durable events retry).
---@param name string
---@param handler fun(event: {id: string, name: string, source: string, payload: any, attempt: integer})
function ctx:on(name, handler) end

---Provide a service `<plugin>.<name>` to plugins that depend on this one (di.get). Its functions
---receive copies of the arguments and their results are copied back.
---@param name string
---@param service table<string, function>
function ctx:provide(name, service) end

---Declare a data exchanger: import/export of one entity under /admin/data-exchange. `types`
---declares field types ("string", "integer", "number", "boolean", "json", "timestamp"): CSV cells
---are converted and JSON values checked before import runs.
---@param spec {key: string, natural_key: string, formats?: string[], fields?: string[], types?: table<string, "string"|"integer"|"number"|"boolean"|"json"|"timestamp">, pii?: string[], secret?: string[], label?: string, export: fun(query: {offset: integer, limit: integer}): table[], import: fun(rows: table[], opts: {dry_run: boolean, mode: string}): {created: integer, updated: integer, skipped: integer, errors: table[]}}
function ctx:exchanger(spec) end

---Run fn every `seconds` (at least 0.1) in this plugin's pool, under the request timeout. Engines
---sharing a database run each tick once between them. A failure is logged; the job keeps its schedule.
---@param name string # `<plugin>.<job>`
---@param seconds number
---@param fn fun(job: {name: string, scheduled_at: string})
function ctx:every(name, seconds, fn) end
