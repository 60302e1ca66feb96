package auth

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestVerify(t *testing.T) {
	const secret = "test-secret"
	v := NewVerifier(secret)
	now := time.Now()
	good, _ := Mint(secret, "u1", []string{"admin", "subscriber"}, time.Hour, now)
	expired, _ := Mint(secret, "u1", nil, time.Hour, now.Add(-2*time.Hour))
	wrongKey, _ := Mint("other", "u1", nil, time.Hour, now)
	future, _ := Mint(secret, "u1", nil, 2*time.Hour, now.Add(time.Hour))
	noSub, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"exp": now.Add(time.Hour).Unix()}).SignedString([]byte(secret))
	noExp, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "u1"}).SignedString([]byte(secret))
	hs512, _ := jwt.NewWithClaims(jwt.SigningMethodHS512, jwt.MapClaims{"sub": "u1", "exp": now.Add(time.Hour).Unix()}).SignedString([]byte(secret))
	enc := base64.RawURLEncoding.EncodeToString
	algNone := enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc([]byte(`{"sub":"u1","exp":9999999999}`)) + "."
	tests := []struct {
		name, token string
		ok          bool
	}{
		{"good", good, true}, {"expired", expired, false}, {"wrong signature", wrongKey, false},
		{"no sub", noSub, false}, {"no exp", noExp, false}, {"HS512", hs512, false},
		{"alg none", algNone, false}, {"issued in an hour", future, false}, {"garbage", "a.b.c", false}, {"tampered", good[:len(good)-2] + "xx", false},
	}
	for _, tt := range tests {
		u, err := v.Verify(tt.token)
		if (err == nil) != tt.ok {
			t.Errorf("%s: err = %v", tt.name, err)
			continue
		}
		if !tt.ok && !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: error %v is not ErrInvalidToken", tt.name, err)
		}
		if tt.ok && (u.ID != "u1" || strings.Join(u.Roles, ",") != "admin,subscriber") {
			t.Errorf("%s: user %+v", tt.name, u)
		}
	}
	if _, err := v.FromHeader("Basic x"); !errors.Is(err, ErrNoToken) {
		t.Errorf("non-bearer header: %v", err)
	}
	if _, err := NewVerifier("").Verify(good); !errors.Is(err, ErrNoSecret) {
		t.Errorf("no secret: %v", err)
	}
}

// BenchmarkVerify_HS256 is the verification of every authenticated request
// of an engine with VBWD_JWT_SECRET.
func BenchmarkVerify_HS256(b *testing.B) {
	v := NewVerifier("abababababababababababababababababab")
	tok, err := Mint("abababababababababababababababababab", "u1", []string{"reader"}, time.Hour, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(tok); err != nil {
			b.Fatal(err)
		}
	}
}
