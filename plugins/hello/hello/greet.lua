-- hello.greet: helpers shared by the hello routes (a plugin-local module).
local M = {}

-- check_name refuses names longer than max with a 422.
function M.check_name(name, max)
  if #name > max then
    error({ status = 422, message = "name is longer than " .. max .. " characters" })
  end
  return name
end

function M.phrase(greeting, name)
  return greeting .. ", " .. name .. "!"
end

return M
