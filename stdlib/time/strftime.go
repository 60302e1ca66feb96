package time

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// strftime layouts: a layout with a "%" in it is read as strftime tokens
// (what a Lua, C or Python author knows) instead of a Go reference layout.
// Formatting and parsing walk the tokens themselves rather than translating
// to a Go layout, so literal text such as "Jan" or "1" in a strftime layout
// stays literal.

// isStrftime reports whether layout uses strftime tokens.
func isStrftime(layout string) bool { return strings.Contains(layout, "%") }

// composite tokens expand to other tokens before use.
var composite = map[byte]string{'F': "%Y-%m-%d", 'T': "%H:%M:%S", 'D': "%m/%d/%y", 'R': "%H:%M"}

// goToken is the Go layout element that formats each simple token.
var goToken = map[byte]string{
	'Y': "2006", 'y': "06", 'm': "01", 'd': "02", 'e': "_2", 'H': "15", 'I': "03",
	'M': "04", 'S': "05", 'p': "PM", 'z': "-0700", 'Z': "MST", 'a': "Mon", 'A': "Monday",
	'b': "Jan", 'h': "Jan", 'B': "January", 'j': "002",
}

// expand replaces composite tokens, and reports an unknown or dangling token.
func expand(layout string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(layout); i++ {
		if layout[i] != '%' {
			b.WriteByte(layout[i])
			continue
		}
		if i+1 == len(layout) {
			return "", fmt.Errorf("layout %q ends with a lone %%", layout)
		}
		i++
		c := layout[i]
		switch {
		case composite[c] != "":
			b.WriteString(composite[c])
		case goToken[c] != "" || c == '%' || c == 'f' || c == 's' || c == 'u' || c == 'w':
			b.WriteByte('%')
			b.WriteByte(c)
		default:
			return "", fmt.Errorf("layout %q: unknown token %%%c (known: %%Y %%y %%m %%d %%e %%H %%I %%M %%S %%f %%p %%z %%Z %%a %%A %%b %%B %%j %%u %%w %%s %%F %%T %%D %%R %%%%)", layout, c)
		}
	}
	return b.String(), nil
}

// strftime formats t with strftime tokens.
func strftime(t time.Time, layout string) (string, error) {
	layout, err := expand(layout)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for i := 0; i < len(layout); i++ {
		if layout[i] != '%' {
			b.WriteByte(layout[i])
			continue
		}
		i++
		switch c := layout[i]; c {
		case '%':
			b.WriteByte('%')
		case 'f':
			fmt.Fprintf(&b, "%06d", t.Nanosecond()/1000)
		case 's':
			b.WriteString(strconv.FormatInt(t.Unix(), 10))
		case 'u': // ISO weekday, Monday = 1
			b.WriteString(strconv.Itoa((int(t.Weekday())+6)%7 + 1))
		case 'w': // Sunday = 0
			b.WriteString(strconv.Itoa(int(t.Weekday())))
		default:
			b.WriteString(t.Format(goToken[c]))
		}
	}
	return b.String(), nil
}

// strptime parses s with strftime tokens. Without %z, %Z or %s in s the
// fields are wall time in loc.
func strptime(s, layout string, loc *time.Location) (time.Time, error) {
	layout, err := expand(layout)
	if err != nil {
		return time.Time{}, err
	}
	p := parser{s: s, year: 1900, month: 1, day: 1, loc: loc, yday: -1, unix: -1}
	for i := 0; i < len(layout); i++ {
		if err := p.step(layout, &i); err != nil {
			return time.Time{}, fmt.Errorf("parsing time %q as %q: %w", s, layout, err)
		}
	}
	if p.pos != len(s) {
		return time.Time{}, fmt.Errorf("parsing time %q as %q: extra text %q", s, layout, s[p.pos:])
	}
	return p.time()
}

// parser is the state of one strptime.
type parser struct {
	s                               string
	pos                             int
	year, month, day, hour, min, ns int
	sec, yday                       int
	pm, hasPM                       bool
	loc                             *time.Location
	unix                            int64
}

func (p *parser) time() (time.Time, error) {
	if p.unix >= 0 {
		return time.Unix(p.unix, 0).UTC(), nil
	}
	if p.hasPM {
		if p.hour < 1 || p.hour > 12 {
			return time.Time{}, fmt.Errorf("hour %d out of range for %%I", p.hour)
		}
		p.hour %= 12
		if p.pm {
			p.hour += 12
		}
	}
	if p.yday >= 0 {
		return time.Date(p.year, 1, p.yday, p.hour, p.min, p.sec, p.ns, p.loc), nil
	}
	t := time.Date(p.year, time.Month(p.month), p.day, p.hour, p.min, p.sec, p.ns, p.loc)
	if t.Day() != p.day { // time.Date normalises Feb 30 to Mar 2
		return time.Time{}, fmt.Errorf("day %d out of range for %d-%02d", p.day, p.year, p.month)
	}
	return t, nil
}

// step consumes one layout element at layout[*i].
func (p *parser) step(layout string, i *int) error {
	c := layout[*i]
	if c != '%' {
		if p.pos >= len(p.s) || p.s[p.pos] != c {
			return fmt.Errorf("expected %q at offset %d", string(c), p.pos)
		}
		p.pos++
		return nil
	}
	*i++
	switch c = layout[*i]; c {
	case '%':
		return p.literal("%")
	case 'Y':
		return p.num(&p.year, 4, 4, 0, 9999, "year")
	case 'y':
		var y int
		if err := p.num(&y, 2, 2, 0, 99, "year"); err != nil {
			return err
		}
		p.year = 1900 + y
		if y < 69 { // POSIX: 69-99 are 19xx, 00-68 are 20xx
			p.year = 2000 + y
		}
		return nil
	case 'm':
		return p.num(&p.month, 1, 2, 1, 12, "month")
	case 'd':
		return p.num(&p.day, 1, 2, 1, 31, "day")
	case 'e':
		p.skipSpace()
		return p.num(&p.day, 1, 2, 1, 31, "day")
	case 'H':
		return p.num(&p.hour, 1, 2, 0, 23, "hour")
	case 'I':
		p.hasPM = true
		return p.num(&p.hour, 1, 2, 1, 12, "hour")
	case 'M':
		return p.num(&p.min, 1, 2, 0, 59, "minute")
	case 'S':
		return p.num(&p.sec, 1, 2, 0, 60, "second")
	case 'j':
		return p.num(&p.yday, 1, 3, 1, 366, "day of year")
	case 'f':
		return p.fraction()
	case 'p':
		p.hasPM = true
		v, err := p.word([]string{"AM", "PM"}, "AM or PM")
		p.pm = v == 1
		return err
	case 'a', 'A':
		_, err := p.word(weekdays(c == 'A'), "a weekday name")
		return err
	case 'b', 'h', 'B':
		v, err := p.word(months(c == 'B'), "a month name")
		p.month = v + 1
		return err
	case 'u', 'w':
		var d int
		return p.num(&d, 1, 1, 0, 7, "weekday")
	case 'z':
		return p.offset()
	case 'Z':
		return p.zone()
	case 's':
		start := p.pos
		for p.pos < len(p.s) && p.s[p.pos] >= '0' && p.s[p.pos] <= '9' {
			p.pos++
		}
		n, err := strconv.ParseInt(p.s[start:p.pos], 10, 64)
		if err != nil {
			return fmt.Errorf("expected Unix seconds at offset %d", start)
		}
		p.unix = n
		return nil
	}
	return fmt.Errorf("unknown token %%%c", c)
}

func (p *parser) literal(want string) error {
	if !strings.HasPrefix(p.s[p.pos:], want) {
		return fmt.Errorf("expected %q at offset %d", want, p.pos)
	}
	p.pos += len(want)
	return nil
}

func (p *parser) skipSpace() {
	for p.pos < len(p.s) && p.s[p.pos] == ' ' {
		p.pos++
	}
}

// num reads between lo and hi digits into *dst and checks its range.
func (p *parser) num(dst *int, lo, hi, minV, maxV int, what string) error {
	start, n := p.pos, 0
	for p.pos < len(p.s) && p.pos-start < hi && p.s[p.pos] >= '0' && p.s[p.pos] <= '9' {
		n = n*10 + int(p.s[p.pos]-'0')
		p.pos++
	}
	if p.pos-start < lo {
		return fmt.Errorf("expected %s (%d digits) at offset %d", what, lo, start)
	}
	if n < minV || n > maxV {
		return fmt.Errorf("%s %d out of range", what, n)
	}
	*dst = n
	return nil
}

// fraction reads 1 to 9 digits of a second.
func (p *parser) fraction() error {
	start := p.pos
	for p.pos < len(p.s) && p.pos-start < 9 && p.s[p.pos] >= '0' && p.s[p.pos] <= '9' {
		p.pos++
	}
	digits := p.s[start:p.pos]
	if digits == "" {
		return fmt.Errorf("expected fraction digits at offset %d", start)
	}
	n, _ := strconv.Atoi(digits + strings.Repeat("0", 9-len(digits)))
	p.ns = n
	return nil
}

// word reads one of names (case-insensitive) and returns its index.
func (p *parser) word(names []string, what string) (int, error) {
	rest := p.s[p.pos:]
	best := -1
	for i, n := range names { // longest match: "June" before "Jun"
		if len(rest) >= len(n) && strings.EqualFold(rest[:len(n)], n) && (best < 0 || len(n) > len(names[best])) {
			best = i
		}
	}
	if best < 0 {
		return 0, fmt.Errorf("expected %s at offset %d", what, p.pos)
	}
	p.pos += len(names[best])
	return best, nil
}

func weekdays(long bool) []string {
	out := make([]string, 7)
	for d := range 7 {
		out[d] = time.Weekday(d).String()
		if !long {
			out[d] = out[d][:3]
		}
	}
	return out
}

func months(long bool) []string {
	out := make([]string, 12)
	for m := range 12 {
		out[m] = time.Month(m + 1).String()
		if !long {
			out[m] = out[m][:3]
		}
	}
	return out
}

// offset reads "Z", "+hh", "+hhmm" or "+hh:mm".
func (p *parser) offset() error {
	if p.pos < len(p.s) && (p.s[p.pos] == 'Z' || p.s[p.pos] == 'z') {
		p.pos++
		p.loc = time.UTC
		return nil
	}
	if p.pos >= len(p.s) || (p.s[p.pos] != '+' && p.s[p.pos] != '-') {
		return fmt.Errorf("expected a UTC offset like +0200 at offset %d", p.pos)
	}
	sign := 1
	if p.s[p.pos] == '-' {
		sign = -1
	}
	p.pos++
	var h, m int
	if err := p.num(&h, 2, 2, 0, 23, "offset hours"); err != nil {
		return err
	}
	if p.pos < len(p.s) && p.s[p.pos] == ':' {
		p.pos++
	}
	if p.pos < len(p.s) && p.s[p.pos] >= '0' && p.s[p.pos] <= '9' {
		if err := p.num(&m, 2, 2, 0, 59, "offset minutes"); err != nil {
			return err
		}
	}
	p.loc = time.FixedZone("", sign*(h*3600+m*60))
	return nil
}

// zone reads "UTC", "GMT", "Z" or an IANA name such as Europe/Berlin.
func (p *parser) zone() error {
	start := p.pos
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '/' || c == '_' || c == '-' || c >= '0' && c <= '9' && p.pos > start) {
			break
		}
		p.pos++
	}
	name := p.s[start:p.pos]
	switch name {
	case "UTC", "GMT", "Z":
		p.loc = time.UTC
		return nil
	case "", "Local":
		return fmt.Errorf("expected a time zone name at offset %d", start)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return fmt.Errorf("unknown time zone %q (abbreviations other than UTC and GMT are ambiguous; use %%z or an IANA name)", name)
	}
	p.loc = loc
	return nil
}
