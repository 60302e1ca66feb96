package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"

	iauth "github.com/vbwd-platform/vbwd-engine/internal/auth"
	"github.com/vbwd-platform/vbwd-engine/internal/luatest"
)

func testIssuer(t *testing.T) *iauth.Issuer {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return iauth.NewIssuer("https://api.test", "", key)
}

func TestLua(t *testing.T) {
	luatest.Run(t, "testdata", New(testIssuer(t), "accounts", nil))
}

func TestExports(t *testing.T) {
	luatest.CheckExports(t, New(nil, "x", nil), "issue", "issuer")
}

// A token issued from Lua verifies as the engine's, with its roles, the
// issuing plugin, and an expiry from the module's clock.
func TestIssue_VerifiesAsTheEngines(t *testing.T) {
	iss := testIssuer(t)
	clock := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	m := New(iss, "accounts", func() time.Time { return clock })
	L := luatest.NewState(t, m)
	if err := L.DoString(`return require("vbwd.auth").issue({sub = "acc-9", roles = {"a", "b"}, ttl = 90})`); err != nil {
		t.Fatal(err)
	}
	tok := L.CheckString(-1)
	v, err := iauth.New(iauth.Options{Self: iss, Clock: func() time.Time { return clock.Add(time.Minute) }})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	u, err := v.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != "acc-9" || strings.Join(u.Roles, ",") != "a,b" || u.Claims["vbwd_plugin"] != "accounts" ||
		u.Claims["exp"].(float64) != float64(clock.Add(90*time.Second).Unix()) {
		t.Fatalf("user %+v", u)
	}
}

// Without an issuer key, issue fails at run time rather than raising.
func TestIssue_NoIssuer(t *testing.T) {
	L := luatest.NewState(t, New(nil, "x", nil))
	if err := L.DoString(`return require("vbwd.auth").issue({sub = "a", ttl = 60})`); err != nil {
		t.Fatal(err)
	}
	if L.Get(-2) != lua.LNil || !strings.Contains(L.CheckString(-1), "no issuer") {
		t.Fatalf("got %v, %v", L.Get(-2), L.Get(-1))
	}
}
