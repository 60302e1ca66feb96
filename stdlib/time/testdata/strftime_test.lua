-- The Go harness fixes the clock at 2026-11-26T12:34:56.789Z (a Thursday).
local time = require("vbwd.time")
local T = 1795696496 -- 2026-11-26T12:34:56Z

test("format with strftime tokens", function()
  eq(time.format(T, "%Y-%m-%d %H:%M:%S"), "2026-11-26 12:34:56")
  eq(time.format(T, "%F %T"), "2026-11-26 12:34:56")
  eq(time.format(T, "%a %A %b %B %j"), "Thu Thursday Nov November 330")
  eq(time.format(T, "%y %D %R %e %I%p %u %w %s"), "26 11/26/26 12:34 26 12PM 4 4 1795696496")
  eq(time.format(T, "%z %Z 100%%"), "+0000 UTC 100%")
  eq(time.format(T + 0.25, "%S.%f"), "56.250000")
  eq(time.format(nil, "%H:%M"), "12:34", "default is now")
  eq(time.format(0, "Jan 1 at %H"), "Jan 1 at 00", "literal text stays literal")
end)

test("format in a zone", function()
  eq(time.format(T, "%Y-%m-%d %H:%M %z %Z", "Europe/Berlin"), "2026-11-26 13:34 +0100 CET")
  eq(time.format(T, "rfc3339", "Asia/Tokyo"), "2026-11-26T21:34:56+09:00")
  eq(time.format(1782820800, "%H:%M %Z", "Europe/Berlin"), "14:00 CEST", "summer time")
  err(function() time.format(T, "%F", "Mars/Base") end, 'unknown time zone "Mars/Base"')
end)

test("format refuses unknown tokens", function()
  err(function() time.format(T, "%Q") end, "unknown token %Q")
  err(function() time.format(T, "%Y%") end, "lone %")
end)

test("parse with strftime tokens", function()
  eq(time.parse("2026-11-26 12:34:56", "%Y-%m-%d %H:%M:%S"), T)
  eq(time.parse("26/11/2026", "%d/%m/%Y"), 1795651200)
  eq(time.parse("Thu, 26 Nov 2026 13:34:56 +0100", "%a, %d %b %Y %H:%M:%S %z"), T)
  eq(time.parse("26 november 2026 12:34:56 PM", "%d %B %Y %I:%M:%S %p"), T, "names are case-insensitive")
  eq(time.parse("2026-11-26T12:34:56+00:00", "%Y-%m-%dT%H:%M:%S%z"), T)
  eq(time.parse("2026-11-26T12:34:56Z", "%Y-%m-%dT%H:%M:%S%z"), T)
  eq(time.parse("2026-330", "%Y-%j"), 1795651200)
  eq(time.parse("1795696496", "%s"), T)
  eq(time.parse("12:34:56.5 26.11.26", "%T.%f %d.%m.%y"), T + 0.5)
  eq(time.parse("2026-11-26 13:34 Europe/Berlin", "%F %H:%M %Z"), T - 56)
end)

test("parse in a zone", function()
  eq(time.parse("2026-11-26 13:34:56", "%F %T", "Europe/Berlin"), T)
  eq(time.parse("2026-11-26 13:34:56", "datetime", "Europe/Berlin"), T, "Go layouts too")
  eq(time.parse("2026-11-26 12:34:56 +0000", "%F %T %z", "Europe/Berlin"), T, "an offset in s wins")
end)

test("parse failures name the problem", function()
  local cases = {
    { "2026-13-01", "%Y-%m-%d", "month 13 out of range" },
    { "2026-02-30", "%F", "day 30 out of range" },
    { "2026/11/26", "%F", 'expected "-" at offset 4' },
    { "2026-11-26 x", "%F", "extra text" },
    { "26 Foo 2026", "%d %b %Y", "expected a month name" },
    { "13 PM", "%I %p", "hour 13 out of range" },
    { "12:00 CEST", "%H:%M %Z", "abbreviations other than UTC" },
  }
  for _, c in ipairs(cases) do
    local v, e = time.parse(c[1], c[2])
    eq(v, nil, c[1])
    ok(e:find(c[3], 1, true), c[1] .. ": " .. tostring(e))
  end
end)

test("durations", function()
  eq(time.duration("1h30m"), 5400)
  eq(time.duration("90s"), 90)
  eq(time.duration("1.5h"), 5400)
  eq(time.duration("2d12h"), 216000)
  eq(time.duration("-15m"), -900)
  eq(time.duration("250ms"), 0.25)
  for _, bad in ipairs({ "", "soon", "1x", "h" }) do
    local v, e = time.duration(bad)
    eq(v, nil, bad)
    ok(e:find("invalid duration", 1, true), bad .. ": " .. tostring(e))
  end
  eq(time.format_duration(5400), "1h30m0s")
  eq(time.format_duration(1.5), "1.5s")
  eq(time.format_duration(0), "0s")
  eq(time.duration(time.format_duration(93784)), 93784, "round trip")
  err(function() time.format_duration(1e300) end, "out of range")
end)

test("add", function()
  eq(time.add(T, "1h30m"), T + 5400)
  eq(time.add(T, 60), T + 60)
  eq(time.add(T, "-1d"), T - 86400)
  err(function() time.add(T, "later") end, "invalid duration")
  err(function() time.add(T, {}) end, "duration expected")
end)

test("to_zone gives the wall clock in a zone", function()
  local w = time.to_zone(T, "America/New_York")
  eq(w.year, 2026); eq(w.month, 11); eq(w.day, 26)
  eq(w.hour, 7); eq(w.min, 34); eq(w.sec, 56)
  eq(w.wday, 5, "Thursday, 1 = Sunday")
  eq(w.yday, 330)
  eq(w.offset, -5 * 3600)
  eq(w.zone, "EST")
  eq(w.isdst, false)
  eq(time.to_zone(T, "Pacific/Kiritimati").day, 27)
  err(function() time.to_zone(T) end, "string expected")
end)

test("from_zone is the inverse of to_zone", function()
  eq(time.from_zone(time.to_zone(T, "Europe/Berlin"), "Europe/Berlin"), T)
  eq(time.from_zone({ year = 2026, month = 11, day = 26 }, "UTC"), 1795651200)
  eq(time.from_zone({ year = 2026, month = 11, day = 31 }, "UTC"), 1795651200 + 5 * 86400, "fields roll over")
  -- 2026-03-29 02:30 does not exist in Berlin (clocks jump 02:00 -> 03:00)
  eq(time.format(time.from_zone({ year = 2026, month = 3, day = 29, hour = 2, min = 30 }, "Europe/Berlin"), "%H:%M %Z", "Europe/Berlin"), "03:30 CEST")
  err(function() time.from_zone({ year = 2026, month = 1 }, "UTC") end, "field day is required")
  err(function() time.from_zone({ year = 2026, month = 1, day = 1.5 }, "UTC") end, "must be an integer")
end)
