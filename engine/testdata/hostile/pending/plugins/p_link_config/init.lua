-- Its config.json is a symlink to the root config.json (every plugin's
-- settings): it must not become this plugin's config.
local P = { name = "p_link_config", version = "1.0.0", url_prefix = "/api/p_link_config" }
function P.initialize(config) P.config = config end
function P.routes(r) r:get("/config", function() return 200, P.config end) end
return P
