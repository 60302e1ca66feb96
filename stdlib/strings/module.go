package strings

import (
	"net/url"
	"sort"
	"strconv"
	stdstrings "strings"
	"unicode"

	lua "github.com/yuin/gopher-lua"
	"golang.org/x/text/unicode/norm"

	"github.com/vbwd-platform/vbwd-engine/hostapi"
	"github.com/vbwd-platform/vbwd-engine/internal/luaconv"
)

// Module is the vbwd.strings module. It has no dependencies and no state.
type Module struct{}

// New returns the module.
func New() *Module { return &Module{} }

// Name returns "strings".
func (m *Module) Name() string { return "strings" }

// Loader pushes the module table.
func (m *Module) Loader(L *lua.LState) int {
	L.Push(L.SetFuncs(L.CreateTable(0, 10), m.exports()))
	return 1
}

func (m *Module) exports() map[string]lua.LGFunction {
	return map[string]lua.LGFunction{
		"split":        split,
		"trim":         trim,
		"starts_with":  startsWith,
		"ends_with":    endsWith,
		"url_encode":   urlEncode,
		"url_decode":   urlDecode,
		"query_encode": queryEncode,
		"query_parse":  queryParse,
		"slug":         slug,
	}
}

// Docs documents the module table.
func (m *Module) Docs() []hostapi.Export {
	return []hostapi.Export{
		{Name: "split", Sig: "split(s: string, sep: string, max?: integer): string[]", Doc: `the parts of s between the plain separator sep ("a,,b" gives "a", "", "b"); an empty sep splits into UTF-8 characters; with max > 0 at most max parts, the last one holding the rest`},
		{Name: "trim", Sig: "trim(s: string, chars?: string): string", Doc: "s without leading and trailing white space, or without the leading and trailing characters listed in chars"},
		{Name: "starts_with", Sig: "starts_with(s: string, prefix: string): boolean", Doc: "whether s begins with prefix (plain comparison, no patterns)"},
		{Name: "ends_with", Sig: "ends_with(s: string, suffix: string): boolean", Doc: "whether s ends with suffix (plain comparison, no patterns)"},
		{Name: "url_encode", Sig: "url_encode(s: string): string", Doc: "s with every byte but A-Z a-z 0-9 - . _ ~ percent-encoded (a space becomes %20): safe in a path segment or a query value"},
		{Name: "url_decode", Sig: "url_decode(s: string): string?, string?", Doc: `s with its %XX escapes decoded ("+" stays "+"), or nil and an error for a malformed escape`},
		{Name: "query_encode", Sig: "query_encode(t: table): string", Doc: "a query string (without ?) from a table of string, number or boolean values, or arrays of them for repeated keys; keys sorted, spaces as +"},
		{Name: "query_parse", Sig: "query_parse(s: string): table?, string?", Doc: `the values of a query string (a leading ? is skipped; + is a space): a string per key, or an array of strings for a key given more than once; nil and an error for a malformed escape`},
		{Name: "slug", Sig: "slug(s: string, max?: integer): string", Doc: `a URL slug of s: accents removed, lower case ASCII letters and digits, every other run of characters one "-", none at either end; with max, cut to at most max bytes at a "-" where possible`},
	}
}

// charge counts n bytes of new strings, already built, against the call's
// memory budget, as the string library does for what it builds.
func charge(L *lua.LState, n int) {
	if l := L.G.Limits; l != nil && !l.ChargeBuilt(int64(n)) {
		L.RaiseError("%s", l.RefusedMessage())
	}
}

// split implements strings.split(s, sep, max?) -> array.
func split(L *lua.LState) int {
	s, sep := L.CheckString(1), L.CheckString(2)
	n := L.OptInt(3, -1)
	if n <= 0 {
		n = -1
	}
	parts := stdstrings.SplitN(s, sep, n)
	charge(L, len(s)+len(parts)*32)
	t := luaconv.MarkArray(L.CreateTable(len(parts), 0))
	for _, p := range parts {
		t.Append(lua.LString(p))
	}
	L.Push(t)
	return 1
}

// trim implements strings.trim(s, chars?) -> string.
func trim(L *lua.LState) int {
	s := L.CheckString(1)
	if L.Get(2) == lua.LNil {
		L.Push(lua.LString(stdstrings.TrimSpace(s)))
		return 1
	}
	L.Push(lua.LString(stdstrings.Trim(s, L.CheckString(2))))
	return 1
}

func startsWith(L *lua.LState) int {
	L.Push(lua.LBool(stdstrings.HasPrefix(L.CheckString(1), L.CheckString(2))))
	return 1
}

func endsWith(L *lua.LState) int {
	L.Push(lua.LBool(stdstrings.HasSuffix(L.CheckString(1), L.CheckString(2))))
	return 1
}

// unreserved reports whether c is an RFC 3986 unreserved character.
func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// urlEncode implements strings.url_encode(s) -> string.
func urlEncode(L *lua.LState) int {
	s := L.CheckString(1)
	const hex = "0123456789ABCDEF"
	var b stdstrings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	charge(L, b.Len())
	L.Push(lua.LString(b.String()))
	return 1
}

// urlDecode implements strings.url_decode(s) -> string | nil, err.
func urlDecode(L *lua.LState) int {
	out, err := url.PathUnescape(L.CheckString(1))
	if err != nil {
		return fail(L, "url_decode: "+err.Error())
	}
	L.Push(lua.LString(out))
	return 1
}

func fail(L *lua.LState, msg string) int {
	L.Push(lua.LNil)
	L.Push(lua.LString(msg))
	return 2
}

// scalar renders a query value; ok is false for other types.
func scalar(v lua.LValue) (string, bool) {
	switch v := v.(type) {
	case lua.LString:
		return string(v), true
	case lua.LNumber:
		return v.String(), true
	case lua.LBool:
		return strconv.FormatBool(bool(v)), true
	}
	return "", false
}

// queryEncode implements strings.query_encode(t) -> string. Keys are sorted
// so that the same table always gives the same string (signatures, caches).
func queryEncode(L *lua.LState) int {
	t := L.CheckTable(1)
	vals := url.Values{}
	var bad string
	t.ForEach(func(k, v lua.LValue) {
		key, ok := k.(lua.LString)
		if !ok {
			bad = "query_encode: keys must be strings, got " + k.Type().String()
			return
		}
		if s, ok := scalar(v); ok {
			vals.Add(string(key), s)
			return
		}
		list, ok := v.(*lua.LTable)
		if !ok {
			bad = "query_encode: the value of " + strconv.Quote(string(key)) + " is a " + v.Type().String()
			return
		}
		for i := 1; i <= list.Len(); i++ {
			s, ok := scalar(list.RawGetInt(i))
			if !ok {
				bad = "query_encode: " + string(key) + "[" + strconv.Itoa(i) + "] is a " + list.RawGetInt(i).Type().String()
				return
			}
			vals.Add(string(key), s)
		}
	})
	if bad != "" {
		L.ArgError(1, bad)
	}
	out := vals.Encode()
	charge(L, len(out))
	L.Push(lua.LString(out))
	return 1
}

// queryParse implements strings.query_parse(s) -> table | nil, err.
func queryParse(L *lua.LState) int {
	s := stdstrings.TrimPrefix(L.CheckString(1), "?")
	vals, err := url.ParseQuery(s)
	if err != nil {
		return fail(L, "query_parse: "+err.Error())
	}
	charge(L, len(s)+len(vals)*64)
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	t := L.CreateTable(0, len(vals))
	for _, k := range keys {
		vs := vals[k]
		if len(vs) == 1 {
			t.RawSetString(k, lua.LString(vs[0]))
			continue
		}
		list := luaconv.MarkArray(L.CreateTable(len(vs), 0))
		for _, v := range vs {
			list.Append(lua.LString(v))
		}
		t.RawSetString(k, list)
	}
	L.Push(t)
	return 1
}

// folded are letters that NFD does not decompose into a base letter.
var folded = map[rune]string{
	'ß': "ss", 'æ': "ae", 'Æ': "ae", 'ø': "o", 'Ø': "o", 'œ': "oe", 'Œ': "oe",
	'ł': "l", 'Ł': "l", 'đ': "d", 'Đ': "d", 'ð': "d", 'þ': "th", 'ı': "i",
}

// slug implements strings.slug(s, max?) -> string.
func slug(L *lua.LState) int {
	s := L.CheckString(1)
	limit := L.OptInt(2, 0)
	var b stdstrings.Builder
	dash := false // a "-" is owed before the next letter or digit
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r): // a combining accent: dropped
			continue
		case r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(unicode.ToLower(r))
		case folded[r] != "":
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteString(folded[r])
		default:
			dash = true
		}
	}
	out := b.String()
	if limit > 0 && len(out) > limit {
		cut := out[:limit]
		if out[limit] != '-' { // mid-word: back to the last "-"
			if i := stdstrings.LastIndexByte(cut, '-'); i > 0 {
				cut = cut[:i]
			}
		}
		out = cut
		out = stdstrings.TrimRight(out, "-")
	}
	L.Push(lua.LString(out))
	return 1
}

var _ hostapi.Documented = (*Module)(nil)
