-- booking (guide example): request schemas. The engine validates the body
-- and the query string against them before the handler runs, and answers
-- 422 with one {pointer, message} per problem.
local P = {
  name = "booking",
  version = "1.0.0",
  description = "Room bookings with validated requests (guide example)",
  url_prefix = "/api/v1/booking",
}

local BOOKING = { -- a JSON Schema, written as a Lua table
  type = "object",
  required = { "room", "from", "nights" },
  additionalProperties = false,
  properties = {
    room = { type = "string", minLength = 1 },
    from = { type = "string", format = "date" },
    nights = { type = "integer", minimum = 1, maximum = 30 },
  },
}

function P.routes(r)
  r:post("/bookings", { body = BOOKING }, function(req)
    local b = req:json() -- valid by now: no checks by hand
    return 201, { room = b.room, from = b.from, nights = b.nights }
  end)

  r:get("/rooms", { query = "schemas/rooms_query.json" }, function(req) -- a file under schemas/
    return 200, { limit = tonumber(req.query.limit or "10") }
  end)

  r:post("/bookings/{id}/cancel", function(req)
    local reason = req:json().reason
    if type(reason) ~= "string" or reason == "" then
      -- a handler's own 422 has the same shape
      local fields = { { pointer = "/reason", message = "is required" } }
      error({ status = 422, message = "invalid request", fields = fields })
    end
    return 200, { id = req.params.id, cancelled = true }
  end)
end

return P
