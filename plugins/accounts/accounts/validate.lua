-- accounts.validate: request bodies. Each function returns the cleaned value
-- or raises error({status = 422, message = ..., field = ...}).
local M = {}

local function invalid(field, message)
  error({ status = 422, message = message, field = field }, 0)
end

function M.body(req)
  local body = req:json()
  if type(body) ~= "table" then
    error({ status = 400, message = "the body must be a JSON object" }, 0)
  end
  return body
end

-- email trims and lower-cases an address and checks its shape (one @, a dot
-- in the domain, no spaces, at most 254 bytes).
function M.email(v)
  if type(v) ~= "string" then invalid("email", "email must be a string") end
  local e = v:match("^%s*(.-)%s*$"):lower()
  if #e > 254 or not e:match("^[^%s@]+@[^%s@]+%.[^%s@]+$") then
    invalid("email", "email must be an e-mail address")
  end
  return e
end

-- password checks a new password's length (vbwd.crypto hashes at most 1024
-- bytes).
function M.password(v, min_len)
  if type(v) ~= "string" then invalid("password", "password must be a string") end
  if #v < min_len then invalid("password", "password must have at least " .. min_len .. " characters") end
  if #v > 1024 then invalid("password", "password must have at most 1024 bytes") end
  return v
end

-- token checks the shape of a token the client sends back (43 characters of
-- URL-safe base64 for 32 random bytes); anything else is simply not one.
function M.token(v, field)
  if type(v) ~= "string" or #v < 16 or #v > 128 or v:find("[^%w_-]") then
    error({ status = 400, message = "invalid or expired token", field = field }, 0)
  end
  return v
end

-- roles checks a list of role names.
function M.roles(v)
  if type(v) ~= "table" then invalid("roles", "roles must be a list of role names") end
  local out, seen = {}, {}
  for i, r in ipairs(v) do
    if type(r) ~= "string" or not r:match("^[a-z][a-z0-9_.-]*$") or #r > 64 then
      invalid("roles", "roles[" .. i .. "] must be a role name (a-z, 0-9, _ . -)")
    end
    if not seen[r] then
      seen[r] = true
      out[#out + 1] = r
    end
  end
  if #out > 32 then invalid("roles", "at most 32 roles") end
  table.sort(out)
  return out
end

return M
