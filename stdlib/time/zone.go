package time

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// parseDuration reads Go's duration syntax plus a "d" unit of 24 hours
// (calendar days differ across DST changes; plugins wanting those use
// add_days or from_zone). The result is in seconds.
func parseDuration(s string) (float64, error) {
	in := strings.TrimSpace(s)
	neg := strings.HasPrefix(in, "-")
	rest := strings.TrimLeft(in, "+-")
	days := 0.0
	var goPart strings.Builder
	for rest != "" {
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.') {
			i++
		}
		j := i
		for j < len(rest) && (rest[j] < '0' || rest[j] > '9') && rest[j] != '.' {
			j++
		}
		if rest[i:j] == "d" {
			n, err := strconv.ParseFloat(rest[:i], 64)
			if err != nil {
				return 0, fmt.Errorf("invalid duration %q", s)
			}
			days += n
		} else {
			goPart.WriteString(rest[:j])
		}
		rest = rest[j:]
	}
	secs := days * 86400
	if goPart.Len() > 0 {
		d, err := time.ParseDuration(goPart.String())
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q (want e.g. 1h30m, 90s, 2d; units d h m s ms us ns)", s)
		}
		secs += d.Seconds()
	} else if days == 0 && !strings.ContainsAny(in, "0123456789") {
		return 0, fmt.Errorf("invalid duration %q (want e.g. 1h30m, 90s, 2d; units d h m s ms us ns)", s)
	}
	if neg {
		secs = -secs
	}
	return secs, nil
}

// duration implements time.duration(s) -> seconds | nil, err.
func duration(L *lua.LState) int {
	secs, err := parseDuration(L.CheckString(1))
	if err != nil {
		L.Push(lua.LNil)
		L.Push(lua.LString(err.Error()))
		return 2
	}
	L.Push(lua.LNumber(secs))
	return 1
}

// formatDuration implements time.format_duration(seconds) -> string.
func formatDuration(L *lua.LState) int {
	secs := checkFinite(L, 1)
	if math.Abs(secs) > math.MaxInt64/1e9 {
		L.ArgError(1, "duration out of range (about 292 years)")
	}
	L.Push(lua.LString(time.Duration(math.Round(secs * 1e9)).String()))
	return 1
}

// add implements time.add(ts, d) -> ts + d.
func add(L *lua.LState) int {
	ts := checkFinite(L, 1)
	var secs float64
	switch v := L.Get(2).(type) {
	case lua.LNumber:
		secs = float64(v)
	case lua.LString:
		d, err := parseDuration(string(v))
		if err != nil {
			L.ArgError(2, err.Error())
		}
		secs = d
	default:
		L.ArgError(2, "duration expected (seconds or a string like \"1h30m\"), got "+v.Type().String())
	}
	L.Push(lua.LNumber(ts + secs))
	return 1
}

// toZone implements time.to_zone(ts, tz) -> wall clock fields.
func (m *Module) toZone(L *lua.LState) int {
	t := fromSeconds(checkFinite(L, 1)).In(m.location(L, 2))
	name, offset := t.Zone()
	out := L.CreateTable(0, 11)
	for k, v := range map[string]int{
		"year": t.Year(), "month": int(t.Month()), "day": t.Day(), "hour": t.Hour(),
		"min": t.Minute(), "sec": t.Second(), "wday": int(t.Weekday()) + 1, "yday": t.YearDay(),
		"offset": offset,
	} {
		out.RawSetString(k, lua.LNumber(v))
	}
	out.RawSetString("zone", lua.LString(name))
	out.RawSetString("isdst", lua.LBool(t.IsDST()))
	L.Push(out)
	return 1
}

// fromZone implements time.from_zone(fields, tz) -> Unix seconds.
func (m *Module) fromZone(L *lua.LState) int {
	t := L.CheckTable(1)
	loc := m.location(L, 2)
	field := func(name string, required bool, def int) int {
		switch v := t.RawGetString(name).(type) {
		case lua.LNumber:
			if float64(v) != math.Trunc(float64(v)) || math.Abs(float64(v)) > 1e9 {
				L.ArgError(1, "field "+name+" must be an integer")
			}
			return int(v)
		case *lua.LNilType:
			if required {
				L.ArgError(1, "field "+name+" is required")
			}
			return def
		default:
			L.ArgError(1, "field "+name+" must be an integer, got "+v.Type().String())
		}
		return 0
	}
	wall := time.Date(field("year", true, 0), time.Month(field("month", true, 0)), field("day", true, 0),
		field("hour", false, 0), field("min", false, 0), field("sec", false, 0), 0, loc)
	L.Push(seconds(wall))
	return 1
}
