package luaconv

import (
	"errors"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	lua "github.com/yuin/gopher-lua"
)

// SyntaxError is the error DecodeJSON returns for malformed input.
type SyntaxError struct {
	Offset int    // byte offset of the offending input
	Msg    string // what is wrong there
}

func (e *SyntaxError) Error() string {
	return "invalid json at offset " + strconv.Itoa(e.Offset) + ": " + e.Msg
}

// DecodeJSON parses one JSON value (UTF-8) into Lua values allocated in L:
// objects become tables, arrays become tables marked with MarkArray, null
// becomes Null, numbers LNumber and strings LString. Leading and trailing
// white space is allowed, trailing data is not. Duplicate object keys keep
// the last value; invalid UTF-8 in strings becomes U+FFFD. Nesting is
// limited to MaxDepth. On error it returns lua.LNil and a *SyntaxError, e.g.
// "invalid json at offset 12: expected ':' after object key".
func DecodeJSON(L *lua.LState, data []byte) (lua.LValue, error) {
	d := decoder{L: L, data: data}
	d.skipSpace()
	v, err := d.value()
	if err != nil {
		return lua.LNil, err
	}
	d.skipSpace()
	if d.pos < len(d.data) {
		return lua.LNil, d.errorf("unexpected data after the value")
	}
	return v, nil
}

type decoder struct {
	L     *lua.LState
	data  []byte
	pos   int
	depth int
	n     int // values decoded, to check the call's context every checkEvery
	// Elements and members of the arrays and objects being parsed, stacked
	// level after level, so each table is created at its exact size.
	stack []member
}

// member is an element of an array (key unused) or a member of an object.
type member struct {
	key string
	v   lua.LValue
}

func (d *decoder) errorf(msg string) error { return &SyntaxError{Offset: d.pos, Msg: msg} }

func (d *decoder) unexpected(what string) error {
	if d.pos >= len(d.data) {
		return d.errorf("unexpected end of input, expected " + what)
	}
	return d.errorf("unexpected " + strconv.QuoteRuneToASCII(rune(d.data[d.pos])) + ", expected " + what)
}

func (d *decoder) skipSpace() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *decoder) value() (lua.LValue, error) {
	if d.pos >= len(d.data) {
		return lua.LNil, d.unexpected("a value")
	}
	if d.n++; d.n%checkEvery == 0 { // a huge document is interruptible
		if err := d.L.Interrupted(); err != nil {
			return lua.LNil, err
		}
	}
	switch c := d.data[d.pos]; {
	case c == '{':
		return d.object()
	case c == '[':
		return d.array()
	case c == '"':
		s, err := d.str()
		if err == nil && !d.L.G.Limits.ChargeBuilt(int64(len(s))) { // decoded strings count against the call's budget
			err = errors.New(d.L.G.Limits.RefusedMessage())
		}
		return lua.LString(s), err
	case c == '-' || c >= '0' && c <= '9':
		return d.number()
	case c == 't':
		return lua.LTrue, d.literal("true")
	case c == 'f':
		return lua.LFalse, d.literal("false")
	case c == 'n':
		return Null, d.literal("null")
	}
	return lua.LNil, d.unexpected("a value")
}

func (d *decoder) literal(word string) error {
	if len(d.data)-d.pos < len(word) || string(d.data[d.pos:d.pos+len(word)]) != word {
		return d.errorf("invalid literal, expected " + word)
	}
	d.pos += len(word)
	return nil
}

func (d *decoder) push() error {
	if d.depth >= MaxDepth {
		return d.errorf("nesting deeper than " + strconv.Itoa(MaxDepth))
	}
	d.depth++
	d.pos++ // the opening bracket
	d.skipSpace()
	return nil
}

func (d *decoder) object() (lua.LValue, error) {
	if err := d.push(); err != nil {
		return lua.LNil, err
	}
	defer func() { d.depth-- }()
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
		return d.L.CreateTable(0, 0), nil
	}
	base := len(d.stack)
	for {
		if d.pos >= len(d.data) || d.data[d.pos] != '"' {
			return lua.LNil, d.unexpected("an object key")
		}
		key, err := d.str()
		if err != nil {
			return lua.LNil, err
		}
		d.skipSpace()
		if d.pos >= len(d.data) || d.data[d.pos] != ':' {
			return lua.LNil, d.unexpected("':' after object key")
		}
		d.pos++
		d.skipSpace()
		v, err := d.value()
		if err != nil {
			return lua.LNil, err
		}
		d.stack = append(d.stack, member{key, v})
		d.skipSpace()
		if d.pos < len(d.data) && d.data[d.pos] == ',' {
			d.pos++
			d.skipSpace()
			continue
		}
		if d.pos < len(d.data) && d.data[d.pos] == '}' {
			d.pos++
			break
		}
		return lua.LNil, d.unexpected("',' or '}' in object")
	}
	t := d.L.CreateTable(0, len(d.stack)-base)
	for _, m := range d.stack[base:] {
		t.RawSetString(m.key, m.v)
	}
	d.pop(base)
	return t, nil
}

func (d *decoder) array() (lua.LValue, error) {
	if err := d.push(); err != nil {
		return lua.LNil, err
	}
	defer func() { d.depth-- }()
	base := len(d.stack)
	if d.pos < len(d.data) && d.data[d.pos] == ']' {
		d.pos++
		return MarkArray(d.L.CreateTable(0, 0)), nil
	}
	for {
		v, err := d.value()
		if err != nil {
			return lua.LNil, err
		}
		d.stack = append(d.stack, member{v: v})
		d.skipSpace()
		if d.pos < len(d.data) && d.data[d.pos] == ',' {
			d.pos++
			d.skipSpace()
			continue
		}
		if d.pos < len(d.data) && d.data[d.pos] == ']' {
			d.pos++
			break
		}
		return lua.LNil, d.unexpected("',' or ']' in array")
	}
	t := d.L.CreateTable(len(d.stack)-base, 0)
	for i, m := range d.stack[base:] {
		t.RawSetInt(i+1, m.v)
	}
	d.pop(base)
	return MarkArray(t), nil
}

// pop drops the stacked elements from base on.
func (d *decoder) pop(base int) {
	clear(d.stack[base:])
	d.stack = d.stack[:base]
}

// number scans a JSON number and converts it. Plain integers of up to 15
// digits are converted without strconv.
func (d *decoder) number() (lua.LValue, error) {
	start := d.pos
	if d.data[d.pos] == '-' {
		d.pos++
	}
	digits := d.digits()
	switch {
	case digits == 0:
		return lua.LNil, d.unexpected("a digit")
	case digits > 1 && d.data[d.pos-digits] == '0':
		return lua.LNil, &SyntaxError{Offset: d.pos - digits, Msg: "leading zero in number"}
	}
	integral := true
	if d.pos < len(d.data) && d.data[d.pos] == '.' {
		d.pos++
		integral = false
		if d.digits() == 0 {
			return lua.LNil, d.unexpected("a digit after the decimal point")
		}
	}
	if d.pos < len(d.data) && (d.data[d.pos] == 'e' || d.data[d.pos] == 'E') {
		d.pos++
		integral = false
		if d.pos < len(d.data) && (d.data[d.pos] == '+' || d.data[d.pos] == '-') {
			d.pos++
		}
		if d.digits() == 0 {
			return lua.LNil, d.unexpected("a digit in the exponent")
		}
	}
	lit := d.data[start:d.pos]
	if integral && digits <= 15 {
		var n int64
		for _, c := range lit[len(lit)-digits:] {
			n = n*10 + int64(c-'0')
		}
		if lit[0] == '-' {
			n = -n
		}
		return lua.LNumber(n), nil
	}
	f, err := strconv.ParseFloat(string(lit), 64)
	if err != nil {
		return lua.LNil, &SyntaxError{Offset: start, Msg: "number out of range"}
	}
	return lua.LNumber(f), nil
}

func (d *decoder) digits() int {
	start := d.pos
	for d.pos < len(d.data) && d.data[d.pos] >= '0' && d.data[d.pos] <= '9' {
		d.pos++
	}
	return d.pos - start
}

// str scans a JSON string starting at its opening quote. Strings without
// escapes or invalid UTF-8 are converted with one allocation.
func (d *decoder) str() (string, error) {
	d.pos++
	start := d.pos
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			s := string(d.data[start:d.pos])
			d.pos++
			return s, nil
		case c == '\\' || c >= utf8.RuneSelf:
			return d.slowStr(start)
		case c < 0x20:
			return "", d.errorf("control character in string")
		}
		d.pos++
	}
	return "", d.errorf("unterminated string")
}

// slowStr continues str from d.pos, handling escapes and UTF-8.
func (d *decoder) slowStr(start int) (string, error) {
	buf := make([]byte, 0, d.pos-start+16)
	buf = append(buf, d.data[start:d.pos]...)
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			d.pos++
			return string(buf), nil
		case c == '\\':
			var err error
			if buf, err = d.escape(buf); err != nil {
				return "", err
			}
		case c < 0x20:
			return "", d.errorf("control character in string")
		case c < utf8.RuneSelf:
			buf = append(buf, c)
			d.pos++
		default:
			r, size := utf8.DecodeRune(d.data[d.pos:])
			buf = utf8.AppendRune(buf, r) // RuneError for invalid UTF-8
			d.pos += size
		}
	}
	return "", d.errorf("unterminated string")
}

// escape decodes the escape sequence at d.pos and appends it to buf.
func (d *decoder) escape(buf []byte) ([]byte, error) {
	if d.pos+1 >= len(d.data) {
		return buf, d.errorf("unterminated string")
	}
	c := d.data[d.pos+1]
	switch c {
	case '"', '\\', '/':
		buf = append(buf, c)
	case 'b':
		buf = append(buf, '\b')
	case 'f':
		buf = append(buf, '\f')
	case 'n':
		buf = append(buf, '\n')
	case 'r':
		buf = append(buf, '\r')
	case 't':
		buf = append(buf, '\t')
	case 'u':
		r, ok := d.hex4(d.pos + 2)
		if !ok {
			return buf, d.errorf(`invalid \u escape`)
		}
		d.pos += 6
		if utf16.IsSurrogate(r) {
			if r2, ok := d.lowSurrogate(); ok {
				r = utf16.DecodeRune(r, r2)
			} else {
				r = utf8.RuneError
			}
		}
		return utf8.AppendRune(buf, r), nil
	default:
		return buf, d.errorf("invalid escape character " + strconv.QuoteRuneToASCII(rune(c)))
	}
	d.pos += 2
	return buf, nil
}

// lowSurrogate consumes a following \uDC00-\uDFFF escape, if there is one.
func (d *decoder) lowSurrogate() (rune, bool) {
	if d.pos+1 >= len(d.data) || d.data[d.pos] != '\\' || d.data[d.pos+1] != 'u' {
		return 0, false
	}
	r, ok := d.hex4(d.pos + 2)
	if !ok || r < 0xDC00 || r > 0xDFFF {
		return 0, false
	}
	d.pos += 6
	return r, true
}

func (d *decoder) hex4(at int) (rune, bool) {
	if at+4 > len(d.data) {
		return 0, false
	}
	var r rune
	for _, c := range d.data[at : at+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
