package permissions

import (
	"strings"
	"testing"

	"github.com/vbwd-platform/vbwd-engine/hostapi"
	"github.com/vbwd-platform/vbwd-engine/internal/luatest"
)

// fakeChecker grants role "reader" the key "p.read".
type fakeChecker struct{}

func (fakeChecker) Check(u *hostapi.User, key string) bool {
	for _, r := range u.Roles {
		if r == "reader" && key == "p.read" {
			return true
		}
	}
	return false
}

func (fakeChecker) Catalogue() []Decl {
	return []Decl{{Key: "p.read", Plugin: "p", Description: "Read", Roles: []string{"reader"}}}
}

func TestLua(t *testing.T) { luatest.Run(t, "testdata", New(fakeChecker{})) }

func TestExports(t *testing.T) { luatest.CheckExports(t, New(nil), "check", "list") }

func TestNilChecker(t *testing.T) {
	L := luatest.NewState(t, New(nil))
	if err := L.DoString(`local p = require("vbwd.permissions"); assert(p.check({roles = {"reader"}}, "p.read") == false); assert(#p.list() == 0)`); err != nil {
		t.Fatal(strings.TrimSpace(err.Error()))
	}
}
