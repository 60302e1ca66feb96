// Package http is the vbwd.http host module: outbound HTTP for plugins,
// limited to the hosts a plugin's config allows.
//
//	local http = require("vbwd.http")
//	local res, err = http.post("https://hooks.example.com/in", {
//	  json = { event = "booking.created", id = id },
//	  headers = { authorization = "Bearer " .. token },
//	  timeout = 5,
//	})
//	if not res then return nil, err end
//	if res.status >= 300 then ... end
//
// Egress is denied by default: the plugin's config lists the hosts it may
// reach under http.allow ("api.example.com", "*.example.com",
// "10.0.0.7:8080", "*"). The list is checked before any connection, on
// every redirect hop, and after DNS resolution: loopback, private,
// link-local, unspecified and multicast addresses are refused unless the
// host or address is listed exactly (not through a wildcard), so a DNS
// answer cannot turn a wildcard against the engine's own network. Pooled
// connections are checked again when reused.
//
// Every call is bounded by the state's context (the request's deadline), a
// per-call timeout (default 30s, opts.timeout lowers it) and a response
// size cap (default 8 MiB). All plugins share one transport, so
// connections are reused.
package http
