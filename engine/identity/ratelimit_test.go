package identity

import (
	"strings"
	"testing"
)

// vbwd.trusted_proxies is a list of CIDRs or addresses; anything else is
// refused naming the setting.
func TestTrustedProxies(t *testing.T) {
	cfg := func(v any) map[string]map[string]any {
		return map[string]map[string]any{"vbwd": {"trusted_proxies": v}}
	}
	if p, err := trustedProxies(nil); err != nil || p != nil {
		t.Fatalf("absent: %v %v", p, err)
	}
	if p, err := trustedProxies(cfg([]any{"10.0.0.0/8", "127.0.0.1"})); err != nil || p == nil {
		t.Fatalf("valid list: %v %v", p, err)
	}
	for _, bad := range []any{"10.0.0.0/8", []any{1}, []any{"not an address"}} {
		if _, err := trustedProxies(cfg(bad)); err == nil || !strings.Contains(err.Error(), "vbwd.trusted_proxies") {
			t.Errorf("%v: %v", bad, err)
		}
	}
}
