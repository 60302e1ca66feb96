package time

import (
	"math"
	"strconv"
	"sync"
	"time"
	_ "time/tzdata" // IANA zones for today(tz) on hosts without a zoneinfo database

	lua "github.com/yuin/gopher-lua"

	"github.com/vbwd-platform/vbwd-engine/hostapi"
)

// Module is the vbwd.time module.
type Module struct {
	clock func() time.Time
	zones sync.Map // IANA name -> *time.Location; LoadLocation reads files
}

// New returns the module reading the time from clock; nil means time.Now.
func New(clock func() time.Time) *Module {
	if clock == nil {
		clock = time.Now
	}
	return &Module{clock: clock}
}

// Name returns "time".
func (m *Module) Name() string { return "time" }

// Loader pushes the module table.
func (m *Module) Loader(L *lua.LState) int {
	L.Push(L.SetFuncs(L.CreateTable(0, 9), m.exports()))
	return 1
}

func (m *Module) exports() map[string]lua.LGFunction {
	return map[string]lua.LGFunction{
		"now":      m.now,
		"now_ms":   m.nowMs,
		"unix":     m.unix,
		"format":   m.format,
		"parse":    m.parse,
		"today":    m.today,
		"add_days": m.addDays,
		"since":    m.since,

		"duration":        duration,
		"format_duration": formatDuration,
		"add":             add,
		"to_zone":         m.toZone,
		"from_zone":       m.fromZone,
	}
}

// Docs documents the module table.
func (m *Module) Docs() []hostapi.Export {
	return []hostapi.Export{
		{Name: "now", Sig: "now(): number", Doc: "the current time in Unix seconds, with a fraction"},
		{Name: "now_ms", Sig: "now_ms(): integer", Doc: "the current time in Unix milliseconds"},
		{Name: "unix", Sig: "unix(): integer", Doc: "the current time in whole Unix seconds"},
		{Name: "format", Sig: "format(ts?: number, layout?: string, tz?: string): string", Doc: `format ts (default now) in the IANA zone tz (default UTC); layout is strftime tokens when it contains "%" (%Y %y %m %d %e %H %I %M %S %f %p %z %Z %a %A %b %B %j %u %w %s %F %T %D %R %%, e.g. "%d %b %Y %H:%M"), else "rfc3339" (default), "date", "datetime" or a Go layout`},
		{Name: "parse", Sig: "parse(s: string, layout?: string, tz?: string): number?, string?", Doc: "parse s with a layout as for format into Unix seconds (wall time in tz, default UTC, unless s has an offset or zone), or return nil and an error"},
		{Name: "today", Sig: "today(tz?: string): string", Doc: `today's date as "YYYY-MM-DD" in the IANA time zone tz (default UTC)`},
		{Name: "add_days", Sig: "add_days(date: string, n: integer): string", Doc: `the "YYYY-MM-DD" date n days after date (n may be negative)`},
		{Name: "since", Sig: "since(ts: number): number", Doc: "the seconds elapsed since ts"},
		{Name: "duration", Sig: "duration(s: string): number?, string?", Doc: `the seconds in a duration such as "1h30m", "90s", "1.5h", "2d12h" or "-15m" (units d, h, m, s, ms, us, ns; d is 24h), or nil and an error`},
		{Name: "format_duration", Sig: "format_duration(seconds: number): string", Doc: `seconds as a duration string that duration reads back ("1h30m0s", "1.5s", "0s")`},
		{Name: "add", Sig: "add(ts: number, d: number|string): number", Doc: `ts plus d, given in seconds or as a duration string ("1h30m")`},
		{Name: "to_zone", Sig: "to_zone(ts: number, tz: string): table", Doc: "the wall clock of ts in the IANA zone tz: { year, month, day, hour, min, sec, wday (1 = Sunday), yday, offset (seconds east of UTC), zone (abbreviation), isdst }"},
		{Name: "from_zone", Sig: "from_zone(t: table, tz: string): number", Doc: "the Unix seconds of the wall clock t ({ year, month, day, hour?, min?, sec? }; out of range fields roll over) in the IANA zone tz; a time skipped by a DST change moves forward"},
	}
}

// seconds converts t to Unix seconds with a fraction, without the overflow
// of UnixNano outside 1678..2262.
func seconds(t time.Time) lua.LNumber {
	return lua.LNumber(float64(t.Unix()) + float64(t.Nanosecond())/1e9)
}

// fromSeconds is the inverse of seconds, for a finite ts.
func fromSeconds(ts float64) time.Time {
	sec, frac := math.Modf(ts)
	return time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC()
}

// layout resolves a layout name; other strings are Go layouts.
func layout(name string) string {
	switch name {
	case "rfc3339":
		return time.RFC3339
	case "date":
		return time.DateOnly
	case "datetime":
		return time.DateTime
	}
	return name
}

func (m *Module) now(L *lua.LState) int {
	L.Push(seconds(m.clock()))
	return 1
}

func (m *Module) nowMs(L *lua.LState) int {
	L.Push(lua.LNumber(m.clock().UnixMilli()))
	return 1
}

func (m *Module) unix(L *lua.LState) int {
	L.Push(lua.LNumber(m.clock().Unix()))
	return 1
}

// format implements time.format(ts?, layout?, tz?) -> string.
func (m *Module) format(L *lua.LState) int {
	t := m.clock().UTC()
	if L.Get(1) != lua.LNil {
		t = fromSeconds(checkFinite(L, 1))
	}
	if L.Get(3) != lua.LNil {
		t = t.In(m.location(L, 3))
	}
	lay := L.OptString(2, "rfc3339")
	if !isStrftime(lay) {
		L.Push(lua.LString(t.Format(layout(lay))))
		return 1
	}
	out, err := strftime(t, lay)
	if err != nil {
		L.ArgError(2, err.Error())
	}
	L.Push(lua.LString(out))
	return 1
}

// parse implements time.parse(s, layout?, tz?) -> number | nil, err.
func (m *Module) parse(L *lua.LState) int {
	s := L.CheckString(1)
	lay := L.OptString(2, "rfc3339")
	loc := time.UTC
	if L.Get(3) != lua.LNil {
		loc = m.location(L, 3)
	}
	var t time.Time
	var err error
	if isStrftime(lay) {
		t, err = strptime(s, lay, loc)
	} else {
		t, err = time.ParseInLocation(layout(lay), s, loc)
	}
	if err != nil {
		L.Push(lua.LNil)
		L.Push(lua.LString(err.Error()))
		return 2
	}
	L.Push(seconds(t))
	return 1
}

// today implements time.today(tz?) -> "YYYY-MM-DD".
func (m *Module) today(L *lua.LState) int {
	loc := time.UTC
	if L.Get(1) != lua.LNil {
		loc = m.location(L, 1)
	}
	L.Push(lua.LString(m.clock().In(loc).Format(time.DateOnly)))
	return 1
}

// addDays implements time.add_days(date, n) -> "YYYY-MM-DD".
func (m *Module) addDays(L *lua.LState) int {
	d, err := time.Parse(time.DateOnly, L.CheckString(1))
	if err != nil {
		L.ArgError(1, "date must be YYYY-MM-DD")
	}
	L.Push(lua.LString(d.AddDate(0, 0, L.CheckInt(2)).Format(time.DateOnly)))
	return 1
}

// since implements time.since(ts) -> seconds.
func (m *Module) since(L *lua.LState) int {
	ts := checkFinite(L, 1)
	L.Push(seconds(m.clock()) - lua.LNumber(ts))
	return 1
}

// location returns the time zone named by argument n, raising an argument
// error for unknown names. Known zones are cached.
func (m *Module) location(L *lua.LState, n int) *time.Location {
	name := L.CheckString(n)
	if loc, ok := m.zones.Load(name); ok {
		return loc.(*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil || name == "" || name == "Local" {
		L.ArgError(n, "unknown time zone "+strconv.Quote(name))
	}
	m.zones.Store(name, loc)
	return loc
}

// checkFinite returns argument n as a finite number, raising otherwise.
func checkFinite(L *lua.LState, n int) float64 {
	f := float64(L.CheckNumber(n))
	if math.IsNaN(f) || math.IsInf(f, 0) {
		L.ArgError(n, "timestamp must be a finite number")
	}
	return f
}

var _ hostapi.Documented = (*Module)(nil)
