// Package json is the vbwd.json host module: JSON encoding and decoding for
// plugins, built on internal/luaconv (the same encoder the engine uses for
// response bodies).
//
//	local json = require("vbwd.json")
//	local s = json.encode({ name = "tarot", tags = json.array() }) -- {"name":"tarot","tags":[]}
//	local v, err = json.decode(body)
//	if v == nil then return 400, { error = err } end
//	if v.note == json.null then ... end
//
// Tables with keys 1..n encode as arrays, other tables as objects with sorted
// keys; json.array marks a table as an array so that an empty one encodes as
// []. JSON null decodes to json.null (not nil), so keys and array slots are
// kept. See internal/luaconv for the full mapping.
package json
