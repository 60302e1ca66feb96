-- hello: the example plugin. Routes with path params, a query string, a JSON
-- body and a 4xx raised with error{}.
local greet = require("hello.greet")

local P = {
  name = "hello",
  version = "1.0.0",
  description = "Example plugin: greetings over HTTP",
  author = "vbwd",
  dependencies = {},
  url_prefix = "/api/v1/hello",
}

local config -- set by initialize, read by the handlers (a per-state upvalue)

function P.initialize(cfg)
  config = cfg
end

function P.routes(r)
  -- GET /api/v1/hello/world -> {"message": "Hello, world!"}
  r:get("/{name}", function(req)
    local name = greet.check_name(req.params.name, config.max_name_length)
    return 200, { message = greet.phrase(config.greeting, name) }
  end)

  -- GET /api/v1/hello/?name=Ada&shout=1
  r:get("/", function(req)
    local name = greet.check_name(req.query.name or "world", config.max_name_length)
    local msg = greet.phrase(config.greeting, name)
    if req.query.shout == "1" then
      msg = string.upper(msg)
    end
    return 200, { message = msg }
  end)

  -- POST /api/v1/hello/echo {"message": "..."} -> the message back, with the request id
  r:post("/echo", function(req)
    local body = req:json()
    if type(body.message) ~= "string" or body.message == "" then
      error({ status = 422, message = "message must be a non-empty string" })
    end
    return 201, { echo = body.message, request_id = req.request_id }, { ["X-Hello"] = "echo" }
  end)
end

return P
