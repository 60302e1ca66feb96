// Package time is the vbwd.time host module: clock and calendar helpers for
// plugins. Timestamps are Unix seconds as Lua numbers (with a fraction where
// it matters); dates are "YYYY-MM-DD" strings.
//
//	local time = require("vbwd.time")
//	local started = time.now()
//	local day = time.today("Europe/Berlin")     -- "2026-11-26"
//	local due = time.add_days(day, 30)
//	local ts, err = time.parse("2026-11-26", "date")
//	log.info("done", { seconds = time.since(started), at = time.format() })
//
//	local s = time.format(ts, "%a %d %b %Y %H:%M", "Europe/Berlin") -- "Thu 26 Nov 2026 13:34"
//	local due = time.add(ts, "1h30m")                               -- or time.duration("2d")
//	local wall = time.to_zone(ts, "America/New_York")               -- wall.hour, wall.wday, ...
//
// The clock is a dependency, so `vbwd test` can run plugins at a fixed time.
// A layout containing "%" is strftime tokens: %Y %y %m %d %e %H %I %M %S %f
// (microseconds) %p %z %Z %a %A %b %B %j %u %w %s, the composites %F %T %D
// %R, and %%; parse reads them back (names case-insensitively; %Z accepts
// UTC, GMT or an IANA name, since abbreviations like CST are ambiguous).
// Other layouts are Go layouts (2006-01-02T15:04:05Z07:00) or one of the
// names "rfc3339" (the default), "date" (2006-01-02) and "datetime"
// (2006-01-02 15:04:05). Formatting is in UTC unless a zone is given; time
// zones are IANA names. Durations are Go's syntax plus "d" (24 hours).
// The time zone database is embedded (time/tzdata), so zones work on hosts
// without one.
package time
