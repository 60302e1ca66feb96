-- payments_stripe.form: application/x-www-form-urlencoded bodies in Stripe's
-- bracket notation: {a = {b = 1}, l = {{x = 2}}} -> "a[b]=1&l[0][x]=2".
-- Keys are sorted, so a body is the same for the same table.
local M = {}

function M.escape(s)
  return (tostring(s):gsub("[^%w%-_%.~]", function(c) return string.format("%%%02X", c:byte()) end))
end

local function flatten(prefix, v, out)
  if type(v) == "table" then
    if v[1] ~= nil then
      for i, x in ipairs(v) do flatten(prefix .. "[" .. (i - 1) .. "]", x, out) end
      return
    end
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = k end
    table.sort(keys)
    for _, k in ipairs(keys) do flatten(prefix == "" and k or (prefix .. "[" .. k .. "]"), v[k], out) end
    return
  end
  if type(v) == "boolean" then v = v and "true" or "false" end
  out[#out + 1] = M.escape(prefix) .. "=" .. M.escape(v)
end

function M.encode(t)
  local out = {}
  flatten("", t, out)
  return table.concat(out, "&")
end

return M
