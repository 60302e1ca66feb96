// Package strings is the vbwd.strings host module: the string helpers Lua's
// own string library lacks, with plain (non-pattern) separators so that a
// "." or "%" in a separator means itself.
//
//	local strings = require("vbwd.strings")
//	local parts = strings.split("a,b,,c", ",")         -- {"a", "b", "", "c"}
//	local name = strings.trim("  Ada  ")              -- "Ada"
//	if strings.starts_with(path, "/admin/") then ... end
//	local q = strings.query_encode({ q = "tea & cake", page = 2 }) -- "page=2&q=tea+%26+cake"
//	local args = strings.query_parse("a=1&b=x+y&b=z")  -- { a = "1", b = { "x y", "z" } }
//	local s = strings.slug("Crème Brûlée, 2 pcs")       -- "creme-brulee-2-pcs"
//
// url_encode escapes everything but the RFC 3986 unreserved characters
// (A-Z a-z 0-9 - . _ ~), so its result is safe in a path segment and in a
// query value; url_decode undoes %XX escapes only (a "+" stays a "+"), while
// query_parse reads "+" as a space as HTML forms send it.
package strings
