package streamauth

import "testing"

// A notification verifies only under the key that signed it, unaltered.
func TestSignVerify(t *testing.T) {
	key, other := []byte("k1-0123456789abcdef0123456789ab"), []byte("k2-0123456789abcdef0123456789ab")
	n := Sign(key, []byte(`{"channel":"room.1"}`))
	if len(n) != SigLen+len(`{"channel":"room.1"}`) {
		t.Fatalf("signed length %d", len(n))
	}
	if p, ok := Verify(key, n); !ok || string(p) != `{"channel":"room.1"}` {
		t.Fatalf("own signature: %q %v", p, ok)
	}
	if _, ok := Verify(other, n); ok {
		t.Fatal("another key's signature verified")
	}
	if _, ok := Verify(key, n[:SigLen]+`{"channel":"room.2"}`); ok {
		t.Fatal("an altered payload verified")
	}
	for _, bad := range []string{"", "short", "zz" + n[2:]} {
		if _, ok := Verify(key, bad); ok {
			t.Fatalf("%q verified", bad)
		}
	}
}

func TestSamePattern(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"/chat/rooms/{id}/events", "/chat/*/rooms/{id}/events", true},
		{"/chat/events/", "/chat/events", true},
		{"/chat/rooms/{id}/events", "/chat/rooms/{id}/messages", false},
	} {
		if got := SamePattern(c.a, c.b); got != c.want {
			t.Errorf("SamePattern(%q, %q) = %v", c.a, c.b, got)
		}
	}
}
