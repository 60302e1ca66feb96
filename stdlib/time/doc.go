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
// The clock is a dependency, so `vbwd test` can run plugins at a fixed time.
// Layouts are Go layouts (2006-01-02T15:04:05Z07:00) or one of the names
// "rfc3339" (the default), "date" (2006-01-02) and "datetime"
// (2006-01-02 15:04:05). Formatting is in UTC; time zones are IANA names.
// The time zone database is embedded (time/tzdata), so zones work on hosts
// without one.
package time
