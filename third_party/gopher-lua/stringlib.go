package lua

import (
	"fmt"
	"strings"

	"github.com/yuin/gopher-lua/pm"
)

const emptyLString LString = LString("")

func OpenString(L *LState) int {
	var mod *LTable
	//_, ok := L.G.builtinMts[int(LTString)]
	//if !ok {
	mod = L.RegisterModule(StringLibName, strFuncs).(*LTable)
	gmatch := L.NewClosure(strGmatch, L.NewFunction(strGmatchIter))
	mod.RawSetString("gmatch", gmatch)
	mod.RawSetString("gfind", gmatch)
	mod.RawSetString("__index", mod)
	L.G.builtinMts[int(LTString)] = mod
	//}
	L.Push(mod)
	return 1
}

var strFuncs = map[string]LGFunction{
	"byte":    strByte,
	"char":    strChar,
	"dump":    strDump,
	"find":    strFind,
	"format":  strFormat,
	"gsub":    strGsub,
	"len":     strLen,
	"lower":   strLower,
	"match":   strMatch,
	"rep":     strRep,
	"reverse": strReverse,
	"sub":     strSub,
	"upper":   strUpper,
}

func strByte(L *LState) int {
	str := L.CheckString(1)
	start := L.OptInt(2, 1) - 1
	end := L.OptInt(3, -1)
	l := len(str)
	if start < 0 {
		start = l + start + 1
	}
	if end < 0 {
		end = l + end + 1
	}

	if L.GetTop() == 2 {
		if start < 0 || start >= l {
			return 0
		}
		L.Push(LNumber(str[start]))
		return 1
	}

	start = intMax(start, 0)
	end = intMin(end, l)
	if end < 0 || end <= start || start >= l {
		return 0
	}

	for i := start; i < end; i++ {
		L.Push(LNumber(str[i]))
	}
	return end - start
}

func strChar(L *LState) int {
	top := L.GetTop()
	L.chargeString("string.char", top) // vbwd: charged
	bytes := make([]byte, L.GetTop())
	for i := 1; i <= top; i++ {
		bytes[i-1] = uint8(L.CheckInt(i))
	}
	L.Push(LString(string(bytes)))
	return 1
}

func strDump(L *LState) int {
	L.RaiseError("GopherLua does not support the string.dump")
	return 0
}

func strFind(L *LState) int {
	str := L.CheckString(1)
	pattern := L.CheckString(2)
	if len(pattern) == 0 {
		L.Push(LNumber(1))
		L.Push(LNumber(0))
		return 2
	}
	init := luaIndex2StringIndex(str, L.OptInt(3, 1), true)
	plain := false
	if L.GetTop() == 4 {
		plain = LVAsBool(L.Get(4))
	}

	if plain {
		pos := strings.Index(str[init:], pattern)
		if pos < 0 {
			L.Push(LNil)
			return 1
		}
		L.Push(LNumber(init+pos) + 1)
		L.Push(LNumber(init + pos + len(pattern)))
		return 2
	}

	md := findOne(L, pattern, str, init) // vbwd: cached, bounded, interruptible
	if md == nil {
		L.Push(LNil)
		return 1
	}
	L.Push(LNumber(md.Capture(0) + 1))
	L.Push(LNumber(md.Capture(1)))
	for i := 2; i < md.CaptureLength(); i += 2 {
		if md.IsPosCapture(i) {
			L.Push(LNumber(md.Capture(i)))
		} else {
			L.Push(LString(str[md.Capture(i):md.Capture(i+1)]))
		}
	}
	return md.CaptureLength()/2 + 1
}

func strFormat(L *LState) int {
	str := L.CheckString(1)
	args := make([]interface{}, L.GetTop()-1)
	top := L.GetTop()
	for i := 2; i <= top; i++ {
		args[i-2] = L.Get(i)
	}
	npat := strings.Count(str, "%") - strings.Count(str, "%%")
	L.chargeString("string.format", formatBound(L, str, args[:intMin(npat, len(args))])) // vbwd: capped before it is built
	L.Push(LString(fmt.Sprintf(str, args[:intMin(npat, len(args))]...)))
	return 1
}

// vbwd: gsub finds one match at a time and builds its result in one pass,
// capped as it grows (upstream collected every match first, then copied the
// whole string once per match: quadratic, and unbounded).
func strGsub(L *LState) int {
	str := L.CheckString(1)
	pat := L.CheckString(2)
	L.CheckTypes(3, LTString, LTTable, LTFunction)
	repl := L.CheckAny(3)
	limit := L.OptInt(4, -1)

	cp := compiledPattern(L, pat)
	lim := patternLimits(L) // one step budget for the whole call
	src := unsafeFastStringToReadOnlyBytes(str)
	var buf strings.Builder
	n, last := 0, 0
	for sp := 0; sp <= len(src) && n != limit; {
		md := findCompiled(L, cp, src, sp, lim)
		if md == nil {
			break
		}
		start, end := md.Capture(0), md.Capture(1)
		buf.WriteString(str[last:start])
		if rs, ok := gsubReplacement(L, str, repl, md); ok {
			buf.WriteString(rs)
		} else {
			buf.WriteString(str[start:end])
		}
		L.checkStringLen("string.gsub", buf.Len())
		last = end
		n++
		sp = intMax(start+1, end)
		if cp.MustHead {
			break
		}
	}
	if n == 0 {
		L.SetTop(1)
		L.Push(LNumber(0))
		return 2
	}
	buf.WriteString(str[last:])
	L.chargeBuiltString("string.gsub", buf.Len()) // vbwd: built, then charged
	L.Push(LString(buf.String()))
	L.Push(LNumber(n))
	return 2
}

// vbwd: gsubReplacement is what one match is replaced with; false keeps the
// match (a table or function gave false or nil).
func gsubReplacement(L *LState, str string, repl LValue, match *pm.MatchData) (string, bool) {
	switch lv := repl.(type) {
	case LString:
		return gsubStr(L, str, string(lv), match), true
	case *LTable:
		idx := 0
		if match.CaptureLength() > 2 { // has captures
			idx = 2
		}
		var value LValue
		if match.IsPosCapture(idx) {
			value = L.GetTable(lv, LNumber(match.Capture(idx)))
		} else {
			value = L.GetField(lv, str[match.Capture(idx):match.Capture(idx+1)])
		}
		if LVIsFalse(value) {
			return "", false
		}
		return LVAsString(value), true
	case *LFunction:
		L.Push(lv)
		nargs := 0
		if match.CaptureLength() > 2 { // has captures
			for i := 2; i < match.CaptureLength(); i += 2 {
				if match.IsPosCapture(i) {
					L.Push(LNumber(match.Capture(i)))
				} else {
					L.Push(LString(capturedString(L, match, str, i)))
				}
				nargs++
			}
		} else {
			L.Push(LString(capturedString(L, match, str, 0)))
			nargs++
		}
		L.Call(nargs, 1)
		ret := L.reg.Pop()
		if LVIsFalse(ret) {
			return "", false
		}
		return LVAsString(ret), true
	}
	return "", false
}

func checkCaptureIndex(L *LState, m *pm.MatchData, idx int) {
	if idx <= 2 {
		return
	}
	if idx >= m.CaptureLength() {
		L.RaiseError("invalid capture index")
	}
}

func capturedString(L *LState, m *pm.MatchData, str string, idx int) string {
	checkCaptureIndex(L, m, idx)
	if idx >= m.CaptureLength() && idx == 2 {
		idx = 0
	}
	if m.IsPosCapture(idx) {
		return fmt.Sprint(m.Capture(idx))
	} else {
		return str[m.Capture(idx):m.Capture(idx+1)]
	}

}

func gsubStr(L *LState, str string, repl string, match *pm.MatchData) string {
	if strings.IndexByte(repl, '%') < 0 { // vbwd: nothing to substitute
		return repl
	}
	sc := newFlagScanner('%', "", "", repl)
	for c, eos := sc.Next(); !eos; c, eos = sc.Next() {
		if !sc.ChangeFlag {
			if sc.HasFlag {
				if c >= '0' && c <= '9' {
					sc.AppendString(capturedString(L, match, str, 2*(int(c)-48)))
				} else {
					sc.AppendChar('%')
					sc.AppendChar(c)
				}
				sc.HasFlag = false
			} else {
				sc.AppendChar(c)
			}
		}
	}
	return sc.String()
}

// vbwd: gmatch finds its matches one at a time, as the loop asks (upstream
// found them all when gmatch was called: unbounded memory, uninterruptible).
type strMatchData struct {
	str string
	pos int // where the next match is searched; -1: done
	pat *pm.Pattern
}

func strGmatchIter(L *LState) int {
	md := L.CheckUserData(1).Value.(*strMatchData)
	str := md.str
	if md.pos < 0 || md.pos > len(str) {
		return 0
	}
	match := findCompiled(L, md.pat, unsafeFastStringToReadOnlyBytes(str), md.pos, patternLimits(L))
	if match == nil {
		md.pos = -1
		return 0
	}
	md.pos = intMax(match.Capture(0)+1, match.Capture(1))
	if md.pat.MustHead {
		md.pos = -1
	}
	L.Push(L.Get(1))
	if match.CaptureLength() == 2 {
		L.Push(LString(str[match.Capture(0):match.Capture(1)]))
		return 1
	}

	for i := 2; i < match.CaptureLength(); i += 2 {
		if match.IsPosCapture(i) {
			L.Push(LNumber(match.Capture(i)))
		} else {
			L.Push(LString(str[match.Capture(i):match.Capture(i+1)]))
		}
	}
	return match.CaptureLength()/2 - 1
}

func strGmatch(L *LState) int {
	str := L.CheckString(1)
	pattern := L.CheckString(2)
	cp := compiledPattern(L, pattern) // vbwd: matched lazily by the iterator
	L.Push(L.Get(UpvalueIndex(1)))
	ud := L.NewUserData()
	ud.Value = &strMatchData{str, 0, cp}
	L.Push(ud)
	return 2
}

func strLen(L *LState) int {
	str := L.CheckString(1)
	L.Push(LNumber(len(str)))
	return 1
}

func strLower(L *LState) int {
	str := L.CheckString(1)
	out := strings.ToLower(str)
	L.chargeBuiltString("string.lower", len(out)) // vbwd: charged
	L.Push(LString(out))
	return 1
}

func strMatch(L *LState) int {
	str := L.CheckString(1)
	pattern := L.CheckString(2)
	offset := L.OptInt(3, 1)
	l := len(str)
	if offset < 0 {
		offset = l + offset + 1
	}
	offset--
	if offset < 0 {
		offset = 0
	}

	md := findOne(L, pattern, str, offset) // vbwd: cached, bounded, interruptible
	if md == nil {
		L.Push(LNil)
		return 0
	}
	nsubs := md.CaptureLength() / 2
	switch nsubs {
	case 1:
		L.Push(LString(str[md.Capture(0):md.Capture(1)]))
		return 1
	default:
		for i := 2; i < md.CaptureLength(); i += 2 {
			if md.IsPosCapture(i) {
				L.Push(LNumber(md.Capture(i)))
			} else {
				L.Push(LString(str[md.Capture(i):md.Capture(i+1)]))
			}
		}
		return nsubs - 1
	}
}

func strRep(L *LState) int {
	str := L.CheckString(1)
	n := L.CheckInt(2)
	if n < 0 {
		L.Push(emptyLString)
	} else {
		if len(str) > 0 && n > 0 { // vbwd: capped and charged before it is built
			total := len(str) * n
			if total/n != len(str) {
				total = -1 // overflow
			}
			L.chargeString("string.rep", total)
		}
		L.Push(LString(strings.Repeat(str, n)))
	}
	return 1
}

func strReverse(L *LState) int {
	str := L.CheckString(1)
	L.chargeString("string.reverse", len(str)) // vbwd: charged
	bts := []byte(str)
	out := make([]byte, len(bts))
	for i, j := 0, len(bts)-1; j >= 0; i, j = i+1, j-1 {
		out[i] = bts[j]
	}
	L.Push(LString(string(out)))
	return 1
}

func strSub(L *LState) int {
	str := L.CheckString(1)
	start := luaIndex2StringIndex(str, L.CheckInt(2), true)
	end := luaIndex2StringIndex(str, L.OptInt(3, -1), false)
	l := len(str)
	if start >= l || end < start {
		L.Push(emptyLString)
	} else {
		L.Push(LString(str[start:end]))
	}
	return 1
}

func strUpper(L *LState) int {
	str := L.CheckString(1)
	out := strings.ToUpper(str)
	L.chargeBuiltString("string.upper", len(out)) // vbwd: charged
	L.Push(LString(out))
	return 1
}

func luaIndex2StringIndex(str string, i int, start bool) int {
	if start && i != 0 {
		i -= 1
	}
	l := len(str)
	if i < 0 {
		i = l + i + 1
	}
	i = intMax(0, i)
	if !start && i > l {
		i = l
	}
	return i
}

//
