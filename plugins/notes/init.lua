-- notes: the data-layer example plugin. A table created by a migration,
-- CRUD routes over vbwd.db, validation, a 409 from a unique constraint, and
-- idempotent demo data (populate.lua).
local db = require("vbwd.db")
local validate = require("notes.validate")

local P = {
  name = "notes",
  version = "1.0.0",
  description = "Notes: the worked example of vbwd.db, migrations and populate",
  author = "vbwd",
  url_prefix = "/api/v1/notes",
}

local config

function P.initialize(cfg)
  config = cfg
end

local COLUMNS = "id, slug, title, body, tags, pinned, created_at, updated_at"

-- fail turns a database error into a response: 409 for a duplicate slug,
-- 500 (logged with the SQLSTATE) for anything else.
local function fail(err)
  if err.code == "23505" and err.constraint == "notes_notes_slug_key" then
    error({ status = 409, message = "a note with this slug already exists" })
  end
  error(tostring(err))
end

local function find(id)
  local row, err = db.query_one("select " .. COLUMNS .. " from notes_notes where id = $1", id)
  if err and err.code == "22P02" then -- not a uuid: PostgreSQL validates it for us
    error({ status = 404, message = "no such note" })
  end
  if err then fail(err) end
  if not row then
    error({ status = 404, message = "no such note" })
  end
  return row
end

function P.on_enable(ctx)
  -- Import/export of notes by slug: GET /admin/data-exchange/notes.notes/export, vbwd data import ...
  ctx:exchanger({
    key = "notes.notes",
    natural_key = "slug",
    fields = { "slug", "title", "body", "pinned" },
    types = { pinned = "boolean" }, -- a CSV "true"/"false" arrives as a boolean
    export = function(q)
      local rows, err = db.query("select slug, title, body, pinned from notes_notes order by slug limit $1 offset $2",
        q.limit, q.offset)
      if err then fail(err) end
      return rows
    end,
    import = function(rows, opts)
      local res = { created = 0, updated = 0, skipped = 0, errors = {} }
      for i, row in ipairs(rows) do
        local ok, why = pcall(validate.note, row, true)
        if not ok then
          res.errors[#res.errors + 1] = { row = i, error = type(why) == "table" and why.message or tostring(why) }
        end
      end
      if #res.errors > 0 then return res end
      if opts.mode == "replace_all" then db.exec("delete from notes_notes") end
      for _, row in ipairs(rows) do
        local pinned = row.pinned == true
        local r, err = db.query_one("insert into notes_notes (slug, title, body, pinned) values ($1, $2, $3, $4)"
          .. " on conflict (slug) do update set title = excluded.title, body = excluded.body, pinned = excluded.pinned,"
          .. " updated_at = now() returning (xmax = 0) as created", row.slug, row.title, row.body or "", pinned)
        if err then fail(err) end
        if r.created then res.created = res.created + 1 else res.updated = res.updated + 1 end
      end
      return res
    end,
  })
end

function P.routes(r)
  -- GET /api/v1/notes/?tag=x&limit=20 -> {notes = [...]}
  r:get("/", function(req)
    local limit = validate.limit(req.query.limit, config.page_size, config.max_page_size)
    local rows, err
    if req.query.tag then
      rows, err = db.query("select " .. COLUMNS .. " from notes_notes where $1 = any(tags)"
        .. " order by pinned desc, created_at desc, id limit $2", req.query.tag, limit)
    else
      rows, err = db.query("select " .. COLUMNS .. " from notes_notes"
        .. " order by pinned desc, created_at desc, id limit $1", limit)
    end
    if err then fail(err) end
    return 200, { notes = rows }
  end)

  r:get("/{id}", function(req)
    return 200, find(req.params.id)
  end)

  r:post("/", function(req)
    local note = validate.note(req:json(), true)
    local row, err = db.query_one(
      "insert into notes_notes (slug, title, body, tags, pinned) values ($1, $2, $3, $4, $5) returning " .. COLUMNS,
      note.slug, note.title, note.body or "", note.tags or {}, note.pinned or false)
    if err then fail(err) end
    return 201, row, { Location = "/api/v1/notes/" .. row.id }
  end)

  r:put("/{id}", function(req)
    local current = find(req.params.id)
    local note = validate.note(req:json(), false)
    local row, err = db.query_one(
      "update notes_notes set slug = $2, title = $3, body = $4, tags = $5, pinned = $6, updated_at = now()"
      .. " where id = $1 returning " .. COLUMNS,
      current.id, note.slug or current.slug, note.title or current.title, note.body or current.body,
      note.tags or current.tags, note.pinned == nil and current.pinned or note.pinned)
    if err then fail(err) end
    return 200, row
  end)

  r:delete("/{id}", function(req)
    local note = find(req.params.id)
    local _, err = db.exec("delete from notes_notes where id = $1", note.id)
    if err then fail(err) end
    return 204
  end)
end

return P
