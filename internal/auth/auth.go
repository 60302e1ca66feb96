// Package auth verifies API tokens: HS256 JWTs signed with the engine's
// secret (VBWD_JWT_SECRET). It refuses alg "none", any other algorithm,
// expired or not-yet-valid tokens and bad signatures, and mints tokens for
// development and tests.
package auth

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Errors.
var (
	ErrNoSecret     = errors.New("no JWT secret configured (VBWD_JWT_SECRET)")
	ErrNoToken      = errors.New("no bearer token")
	ErrInvalidToken = errors.New("invalid token")
)

// User is who a valid token speaks for.
type User struct {
	ID     string         `json:"id"`
	Roles  []string       `json:"roles"`
	Claims map[string]any `json:"claims"`
}

// Verifier checks tokens signed with one secret.
type Verifier struct {
	secret []byte
	leeway time.Duration
}

// NewVerifier returns a verifier for secret; an empty secret verifies
// nothing (every token is refused with ErrNoSecret).
func NewVerifier(secret string) *Verifier {
	return &Verifier{secret: []byte(secret), leeway: 5 * time.Second}
}

// Enabled reports whether a secret is configured.
func (v *Verifier) Enabled() bool { return len(v.secret) > 0 }

// FromHeader verifies the token of an "Authorization: Bearer <jwt>" header.
func (v *Verifier) FromHeader(h string) (*User, error) {
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || tok == "" {
		return nil, ErrNoToken
	}
	return v.Verify(tok)
}

// Verify checks a token's signature (HS256 only), expiry, not-before and
// issued-at (not in the future),
// and returns its user: sub is the id, roles a list of strings.
func (v *Verifier) Verify(token string) (*User, error) {
	if !v.Enabled() {
		return nil, ErrNoSecret
	}
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		return v.secret, nil
	}, jwt.WithValidMethods([]string{"HS256"}), jwt.WithLeeway(v.leeway), jwt.WithExpirationRequired(),
		jwt.WithIssuedAt()) // a token issued in the future (beyond the leeway) is forged or skewed
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	sub, _ := claims["sub"].(string)
	if sub == "" {
		return nil, fmt.Errorf("%w: no sub claim", ErrInvalidToken)
	}
	u := &User{ID: sub, Claims: map[string]any(claims), Roles: []string{}}
	if roles, ok := claims["roles"].([]any); ok {
		for _, r := range roles {
			if s, ok := r.(string); ok && s != "" {
				u.Roles = append(u.Roles, s)
			}
		}
	}
	return u, nil
}

// Mint signs a token for sub with roles, valid for ttl.
func Mint(secret, sub string, roles []string, ttl time.Duration, now time.Time) (string, error) {
	if secret == "" {
		return "", ErrNoSecret
	}
	if roles == nil {
		roles = []string{}
	}
	claims := jwt.MapClaims{"sub": sub, "roles": roles, "iat": now.Unix(), "exp": now.Add(ttl).Unix()}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
}
