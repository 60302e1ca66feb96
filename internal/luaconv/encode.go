package luaconv

import (
	"math"
	"strconv"
	"unicode/utf8"

	lua "github.com/yuin/gopher-lua"
)

// AppendJSON appends the JSON encoding of v to dst and returns the extended
// buffer. See the package documentation for the mapping. Integral numbers
// within ±2^53 are written without fraction or exponent, NaN and ±Inf are
// errors, strings are escaped (invalid UTF-8 becomes U+FFFD, and U+2028 and
// U+2029 are escaped so the output is also valid JavaScript). Object keys are
// sorted. On error dst is returned with partial output appended; the error
// names the path of the offending value, e.g.
// "cannot encode function at $.user.cb".
func AppendJSON(dst []byte, v lua.LValue) ([]byte, error) {
	t, ok := v.(*lua.LTable)
	if !ok {
		return appendValue(dst, v, nil)
	}
	s := getScratch()
	defer s.release()
	return appendTable(dst, t, s)
}

// Limits bounds AppendJSONLimited.
type Limits struct {
	// MaxBytes bounds the encoded output (0: no bound).
	MaxBytes int
	// Check, when set, is called every few thousand values; its error ends
	// the encoding (e.g. the Lua call's context is done).
	Check func() error
}

// TooLargeError is AppendJSONLimited's error for output over MaxBytes.
type TooLargeError struct{ Max int }

func (e *TooLargeError) Error() string {
	return "JSON encoding exceeds the limit of " + strconv.Itoa(e.Max) + " bytes"
}

const checkEvery = 1 << 12

// AppendJSONLimited is AppendJSON bounded by lim: it stops with a
// *TooLargeError as soon as the output passes lim.MaxBytes (at most one
// value past it), and with lim.Check's error when that fails.
func AppendJSONLimited(dst []byte, v lua.LValue, lim Limits) ([]byte, error) {
	s := getScratch()
	defer s.release()
	s.lim, s.start = lim, len(dst)
	out, err := appendValue(dst, v, s)
	if err == nil {
		err = s.limit(out)
	}
	return out, err
}

// before refuses a string of n bytes that would take the output past
// MaxBytes, and checks the context before a long one.
func (s *scratch) before(dst []byte, n int) error {
	if s == nil {
		return nil
	}
	if s.lim.MaxBytes > 0 && len(dst)-s.start+n > s.lim.MaxBytes {
		return &TooLargeError{Max: s.lim.MaxBytes}
	}
	if n >= 1<<16 && s.lim.Check != nil {
		return s.lim.Check()
	}
	return nil
}

// limit enforces AppendJSONLimited's bounds after a value was appended.
func (s *scratch) limit(dst []byte) error {
	if s == nil {
		return nil
	}
	if s.lim.MaxBytes > 0 && len(dst)-s.start > s.lim.MaxBytes {
		return &TooLargeError{Max: s.lim.MaxBytes}
	}
	if s.n++; s.n%checkEvery == 0 && s.lim.Check != nil {
		return s.lim.Check()
	}
	return nil
}

// appendValue appends v; s may be nil while no table has been seen.
func appendValue(dst []byte, v lua.LValue, s *scratch) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case lua.LString:
		if err := s.before(dst, len(x)); err != nil {
			return dst, err
		}
		return appendString(dst, string(x)), nil
	case lua.LNumber:
		out, ok := appendNumber(dst, float64(x))
		if !ok {
			return dst, newPathError("cannot encode number " + x.String())
		}
		return out, nil
	case lua.LBool:
		if x {
			return append(dst, "true"...), nil
		}
		return append(dst, "false"...), nil
	case *lua.LNilType:
		return append(dst, "null"...), nil
	case *lua.LTable:
		return appendTable(dst, x, s)
	case *lua.LUserData:
		if x == Null {
			return append(dst, "null"...), nil
		}
	}
	return dst, valueError(v)
}

func appendTable(dst []byte, t *lua.LTable, s *scratch) ([]byte, error) {
	if err := s.enter(t); err != nil {
		return dst, err
	}
	base := len(s.pairs)
	defer s.leave(base)
	isArray, err := s.collect(t)
	if err != nil {
		return dst, err
	}
	end := len(s.pairs)
	open, closing := byte('{'), byte('}')
	if isArray {
		open, closing = '[', ']'
	}
	dst = append(dst, open)
	for i := base; i < end; i++ {
		if i > base {
			dst = append(dst, ',')
		}
		p := &s.pairs[i]
		if !isArray {
			dst = appendString(dst, p.key)
			dst = append(dst, ':')
		}
		if dst, err = appendValue(dst, p.v, s); err == nil {
			err = s.limit(dst)
		}
		if err != nil {
			if isArray {
				return dst, wrapIndex(err, i-base+1)
			}
			return dst, wrapKey(err, s.pairs[i].key)
		}
	}
	return append(dst, closing), nil
}

// maxSafeInt is 2^53: integral numbers up to it are exact in a float64.
const maxSafeInt = 1 << 53

// appendNumber appends f in JSON form; ok is false for NaN and ±Inf.
// Integral values within ±2^53 are written as integers; other values use the
// shortest representation that round-trips, in the style of encoding/json.
func appendNumber(dst []byte, f float64) (out []byte, ok bool) {
	if f == math.Trunc(f) && f >= -maxSafeInt && f <= maxSafeInt {
		return strconv.AppendInt(dst, int64(f), 10), true
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return dst, false
	}
	format := byte('f')
	if abs := math.Abs(f); abs < 1e-6 || abs >= 1e21 {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// Clean up e-09 to e-9, as encoding/json does.
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst, true
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. Runs of bytes that need no
// escaping are copied at once.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// AppendJSONSandboxed encodes v as a string builtin of the sandbox does
// (json.encode, and every host module that sends a Lua value out as JSON:
// http bodies, event payloads, db parameters, stream data): interruptible
// by the call's context, capped at the sandbox's string limit and charged
// to the call's memory budget. Past the budget it raises (the call is over).
// A table holding one subtable many times cannot make it build gigabytes.
func AppendJSONSandboxed(L *lua.LState, v lua.LValue) ([]byte, error) {
	lim := Limits{Check: L.Interrupted}
	if l := L.G.Limits; l != nil {
		lim.MaxBytes = l.MaxString
	}
	out, err := AppendJSONLimited(nil, v, lim)
	if l := L.G.Limits; err == nil && l != nil && !l.ChargeBuilt(int64(len(out))) {
		L.RaiseError("%s", l.RefusedMessage())
	}
	return out, err
}
