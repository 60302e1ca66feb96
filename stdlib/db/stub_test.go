package db

import (
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// The hand-written stdlib/types/vbwd.db_types.lua describes the tx table and
// the error table; these tests keep it in step with txTable and toLua.
func stubText(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../types/vbwd.db_types.lua")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestStub_txFunctions(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	b := &binding{m: New(nil, Options{})}
	var got []string
	b.txTable(L, &txState{}).ForEach(func(k, _ lua.LValue) { got = append(got, k.String()) })
	var stub []string
	for _, m := range regexp.MustCompile(`(?m)^function tx\.(\w+)\(`).FindAllStringSubmatch(stubText(t), -1) {
		stub = append(stub, m[1])
	}
	sort.Strings(got)
	sort.Strings(stub)
	if strings.Join(got, ",") != strings.Join(stub, ",") {
		t.Errorf("tx table has %v, vbwd.db_types.lua declares %v", got, stub)
	}
}

func TestStub_errorFields(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	full := dbError{message: "m", code: "c", constraint: "x", detail: "d", hint: "h", schema: "s",
		table: "t", col: "c", plugin: "p", class: "connection"}
	var got []string
	full.toLua(L, nil).ForEach(func(k, _ lua.LValue) { got = append(got, k.String()) })
	text := stubText(t)
	class := text[strings.Index(text, "---@class vbwd.db.error"):]
	class = class[:strings.Index(class, "\n\n")]
	var stub []string
	for _, m := range regexp.MustCompile(`(?m)^---@field (\w+)\??`).FindAllStringSubmatch(class, -1) {
		stub = append(stub, m[1])
	}
	sort.Strings(got)
	sort.Strings(stub)
	if strings.Join(got, ",") != strings.Join(stub, ",") {
		t.Errorf("error tables have %v, vbwd.db.error declares %v", got, stub)
	}
}
