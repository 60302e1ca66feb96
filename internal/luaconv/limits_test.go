package luaconv

import (
	"context"
	"errors"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// TestAppendJSONLimited: the output cap stops the encoding before a string
// that would pass it is copied, and Check ends a long encoding.
func TestAppendJSONLimited(t *testing.T) {
	L := newState(t)
	big := eval(t, L, `local s, t = string.rep("z", 1024 * 1024), {} for i = 1, 64 do t[i] = s end return t`)
	out, err := AppendJSONLimited(nil, big, Limits{MaxBytes: 4 << 20})
	var tl *TooLargeError
	if !errors.As(err, &tl) || len(out) > 4<<20 {
		t.Fatalf("err = %v, %d bytes out", err, len(out))
	}
	many := eval(t, L, `local t = {} for i = 1, 100000 do t[i] = i end return t`)
	stop := errors.New("deadline")
	if _, err := AppendJSONLimited(nil, many, Limits{Check: func() error { return stop }}); !errors.Is(err, stop) {
		t.Errorf("err = %v, want Check's error", err)
	}
	if out, err := AppendJSONLimited(nil, many, Limits{MaxBytes: 1 << 20, Check: func() error { return nil }}); err != nil || !strings.HasPrefix(string(out), "[1,2,3") {
		t.Errorf("within limits: %v", err)
	}
}

// TestDecodeJSONInterruptible: a huge document stops decoding when the
// state's context is done, and decoded strings count against its budget.
func TestDecodeJSONInterruptible(t *testing.T) {
	L := newState(t)
	doc := []byte("[" + strings.Repeat(`1,`, 100000) + "1]")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	L.SetContext(ctx)
	if _, err := DecodeJSON(L, doc); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	L.RemoveContext()
	L.G.Limits = &lua.Limits{}
	L.G.Limits.Arm(1<<20, nil)
	str := []byte(`["` + strings.Repeat("s", 2<<20) + `"]`)
	if _, err := DecodeJSON(L, str); err == nil || !strings.Contains(err.Error(), "memory budget of 1 MiB exceeded") {
		t.Errorf("err = %v, want the budget error", err)
	}
}
