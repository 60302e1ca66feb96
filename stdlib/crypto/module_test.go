package crypto

import (
	"sync"
	"testing"

	"github.com/google/uuid"
	lua "github.com/yuin/gopher-lua"

	"github.com/vbwd-platform/vbwd-engine/internal/luatest"
)

func TestLua(t *testing.T) {
	luatest.Run(t, "testdata", New())
}

func TestExports(t *testing.T) {
	luatest.CheckExports(t, New(),
		"base64_decode", "base64_encode", "constant_time_eq", "hex_decode", "hex_encode",
		"hmac_sha256", "password_hash", "password_needs_rehash", "password_verify",
		"random_hex", "random_token", "sha256", "uuid", "uuid7")
}

// UUIDs parse, carry the right version, and stay unique across states
// generating them concurrently.
func TestUUIDs_concurrent(t *testing.T) {
	m := New()
	const states, perState = 8, 200
	ids := make(chan string, states*perState*2)
	var wg sync.WaitGroup
	for range states {
		wg.Add(1)
		go func() {
			defer wg.Done()
			L := luatest.NewState(t, m)
			if err := L.DoString(`return require("vbwd.crypto")`); err != nil {
				t.Error(err)
				return
			}
			crypto := L.CheckTable(-1)
			for range perState {
				for _, fn := range []string{"uuid", "uuid7"} {
					p := lua.P{Fn: crypto.RawGetString(fn), NRet: 1, Protect: true}
					if err := L.CallByParam(p); err != nil {
						t.Error(err)
						return
					}
					ids <- L.CheckString(-1)
					L.Pop(1)
				}
			}
		}()
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		u, err := uuid.Parse(id)
		if err != nil || (u.Version() != 4 && u.Version() != 7) {
			t.Fatalf("bad uuid %q: %v", id, err)
		}
		if seen[id] {
			t.Fatalf("duplicate uuid %s", id)
		}
		seen[id] = true
	}
	if len(seen) != states*perState*2 {
		t.Errorf("got %d ids", len(seen))
	}
}
