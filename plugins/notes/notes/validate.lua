-- notes.validate: request validation; every refusal is a 422 naming the field.
local json = require("vbwd.json")

local M = {}

local function reject(field, why)
  error({ status = 422, message = field .. " " .. why, field = field })
end

-- limit parses ?limit= within 1..max, default def.
function M.limit(s, def, max)
  if s == nil then return def end
  local n = tonumber(s)
  if not n or n < 1 or n > max or n ~= math.floor(n) then
    reject("limit", "must be an integer from 1 to " .. max)
  end
  return n
end

-- note checks a note body; on create, slug and title are required.
function M.note(body, create)
  if type(body) ~= "table" then reject("body", "must be a JSON object") end
  local out = {}
  if body.slug ~= nil or create then
    if type(body.slug) ~= "string" or not body.slug:match("^[a-z0-9][a-z0-9-]*$") or #body.slug > 80 then
      reject("slug", "must be 1-80 lower-case letters, digits and dashes")
    end
    out.slug = body.slug
  end
  if body.title ~= nil or create then
    if type(body.title) ~= "string" or #body.title < 1 or #body.title > 200 then
      reject("title", "must be a string of 1-200 characters")
    end
    out.title = body.title
  end
  if body.body ~= nil then
    if type(body.body) ~= "string" then reject("body", "must be a string") end
    out.body = body.body
  end
  if body.tags ~= nil then
    if type(body.tags) ~= "table" then reject("tags", "must be an array of strings") end
    local tags = json.array()
    for i, t in ipairs(body.tags) do
      if type(t) ~= "string" or #t == 0 then reject("tags", "must be an array of non-empty strings") end
      tags[i] = t
    end
    out.tags = tags
  end
  if body.pinned ~= nil then
    if type(body.pinned) ~= "boolean" then reject("pinned", "must be true or false") end
    out.pinned = body.pinned
  end
  return out
end

return M
