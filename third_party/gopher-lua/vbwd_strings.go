package lua

// vbwd: this file is not part of upstream gopher-lua: the compiled-pattern
// cache and the bounds of the string library (see PATCHES.md).

import (
	"sync"

	"github.com/yuin/gopher-lua/pm"
)

// Compiled patterns are shared by every state of the process: a pm.Pattern
// is immutable. The cache is bounded in entries and in pattern length; when
// full, an arbitrary entry makes room.
const (
	patternCacheSize = 1024
	maxCachedPattern = 256 // bytes
)

var patternCache = struct {
	sync.RWMutex
	m map[string]*pm.Pattern
}{m: make(map[string]*pm.Pattern, patternCacheSize)}

// compiledPattern returns p compiled, from the cache when it is there; a
// bad pattern raises its error.
func compiledPattern(L *LState, p string) *pm.Pattern {
	cacheable := len(p) <= maxCachedPattern
	if cacheable {
		patternCache.RLock()
		cp := patternCache.m[p]
		patternCache.RUnlock()
		if cp != nil {
			return cp
		}
	}
	cp, err := pm.Compile(p)
	if err != nil {
		L.RaiseError("%s", err.Error())
	}
	if cacheable {
		patternCache.Lock()
		if len(patternCache.m) >= patternCacheSize {
			for k := range patternCache.m {
				delete(patternCache.m, k)
				break
			}
		}
		patternCache.m[p] = cp
		patternCache.Unlock()
	}
	return cp
}

// patternLimits bounds one matching call by the state's step budget and
// its context.
func patternLimits(L *LState) *pm.Limits {
	lim := &pm.Limits{}
	if m := L.G.Limits; m != nil {
		lim.MaxSteps = m.MaxPatternSteps
	}
	if L.ctx != nil {
		lim.Check = L.Interrupted
	}
	return lim
}

// findCompiled returns the first match at or after offset, or nil; a step
// budget exceeded or a context done raises.
func findCompiled(L *LState, cp *pm.Pattern, src []byte, offset int, lim *pm.Limits) *pm.MatchData {
	md, err := cp.Match(src, offset, lim)
	if err != nil {
		L.RaiseError("%s", err.Error())
	}
	return md
}

func findOne(L *LState, pattern, str string, offset int) *pm.MatchData {
	return findCompiled(L, compiledPattern(L, pattern), unsafeFastStringToReadOnlyBytes(str), offset, patternLimits(L))
}

// formatBound is an upper bound of the length of string.format's result,
// computed before it is built. As in Lua 5.1, a width or precision has at
// most two digits.
func formatBound(L *LState, format string, args []interface{}) int {
	n, argi := len(format), 0
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		i++
		if i < len(format) && format[i] == '%' {
			continue
		}
		for i < len(format) && (format[i] == '-' || format[i] == '+' || format[i] == ' ' || format[i] == '#' || format[i] == '0') {
			i++
		}
		digits := func() int {
			v, d := 0, 0
			for ; i < len(format) && format[i] >= '0' && format[i] <= '9'; i++ {
				v, d = v*10+int(format[i]-'0'), d+1
			}
			if d > 2 {
				L.RaiseError("invalid format (width or precision too long)")
			}
			return v
		}
		n += digits()
		if i < len(format) && format[i] == '.' {
			i++
			n += digits()
		}
		n += 32 // a number, or fmt's %!verb(MISSING)
		if argi < len(args) {
			if s, ok := args[argi].(LString); ok {
				if i < len(format) && format[i] == 'q' {
					n += 10 * len(s) // escapes
				} else {
					n += len(s)
				}
			} else {
				n += 480 // the longest %f of a float64, with its precision
			}
			argi++
		}
	}
	return n
}
