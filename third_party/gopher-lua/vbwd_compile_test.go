package lua

import (
	"strings"
	"testing"

	"github.com/yuin/gopher-lua/parse"
)

// A compiled function keeps only the instructions and line numbers it
// uses: the compiler's 1024-entry working arrays are not retained by the
// prototype (12 KiB per function, for as long as a plugin's source lives).
func TestCompiledProtoKeepsNoSpareCode(t *testing.T) {
	src := "local function f(a) return a + 1 end\nreturn function(x) return f(x) * 2 end\n"
	chunk, err := parse.Parse(strings.NewReader(src), "t.lua")
	if err != nil {
		t.Fatal(err)
	}
	proto, err := Compile(chunk, "t.lua")
	if err != nil {
		t.Fatal(err)
	}
	var check func(p *FunctionProto)
	check = func(p *FunctionProto) {
		for what, lc := range map[string][2]int{
			"code": {len(p.Code), cap(p.Code)}, "lines": {len(p.DbgSourcePositions), cap(p.DbgSourcePositions)},
			"constants": {len(p.Constants), cap(p.Constants)}, "protos": {len(p.FunctionPrototypes), cap(p.FunctionPrototypes)},
			"locals": {len(p.DbgLocals), cap(p.DbgLocals)}, "calls": {len(p.DbgCalls), cap(p.DbgCalls)},
			"upvalues": {len(p.DbgUpvalues), cap(p.DbgUpvalues)}, "strings": {len(p.stringConstants), cap(p.stringConstants)},
		} {
			if lc[0] != lc[1] {
				t.Errorf("%s:%d: %s %d/%d (len/cap)", p.SourceName, p.LineDefined, what, lc[0], lc[1])
			}
		}
		for _, c := range p.FunctionPrototypes {
			check(c)
		}
	}
	check(proto)
}
