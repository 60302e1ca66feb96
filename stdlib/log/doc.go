// Package log is the vbwd.log host module: structured logging for plugins
// through the engine's log/slog logger.
//
//	local log = require("vbwd.log")
//	log.info("card drawn", { card = "The Fool", user = req.user.id })
//	log.warn("slow query", { ms = 830 })
//
// Each record carries the attributes of the logger the engine passes (plugin
// and generation), "src" (the calling Lua file:line), "request_id" when the
// state is serving a request, then the given fields in key order. Field
// values are converted with internal/luaconv (tables become maps and lists);
// a value that is not data (a function, say) is logged as its tostring form,
// since a log line should never make a request fail.
package log
