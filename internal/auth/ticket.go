package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Stream tickets let a browser open an event stream: EventSource cannot
// send an Authorization header, so an authenticated POST trades the caller's
// token for a ticket that goes in the stream URL (?ticket=). A ticket is a
// JWT too, but signed with a key derived from the secret for this one
// purpose — a ticket is no API token and an API token no ticket — and it
// carries the user (sub, roles), the one path it opens, a random id (for
// single use) and an expiry of seconds. Every engine sharing the secret
// accepts it.

// ErrInvalidTicket is a ticket that is forged, expired, or for another path.
var ErrInvalidTicket = errors.New("invalid stream ticket")

// ticketKey derives the ticket signing key from the JWT secret.
func (v *Verifier) ticketKey() []byte {
	mac := hmac.New(sha256.New, v.secret)
	mac.Write([]byte("vbwd stream ticket v1"))
	return mac.Sum(nil)
}

// Ticket is a verified stream ticket.
type Ticket struct {
	User    *User
	Path    string
	ID      string // random, for single use
	Expires time.Time
}

// MintTicket issues a ticket for u to open path, valid for ttl from now.
func (v *Verifier) MintTicket(u *User, path string, ttl time.Duration, now time.Time) (string, Ticket, error) {
	if !v.Enabled() {
		return "", Ticket{}, ErrNoSecret
	}
	var id [16]byte
	_, _ = rand.Read(id[:])
	t := Ticket{User: u, Path: path, ID: hex.EncodeToString(id[:]), Expires: now.Add(ttl)}
	roles := u.Roles
	if roles == nil {
		roles = []string{}
	}
	claims := jwt.MapClaims{"sub": u.ID, "roles": roles, "path": path, "jti": t.ID, "iat": now.Unix(), "exp": t.Expires.Unix()}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(v.ticketKey())
	return s, t, err
}

// VerifyTicket checks a ticket's signature and expiry (without leeway: it
// lives seconds) and that it was issued for path.
func (v *Verifier) VerifyTicket(ticket, path string, now time.Time) (Ticket, error) {
	if !v.Enabled() {
		return Ticket{}, ErrNoSecret
	}
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(ticket, claims, func(*jwt.Token) (any, error) { return v.ticketKey(), nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired(), jwt.WithTimeFunc(func() time.Time { return now }))
	if err != nil {
		return Ticket{}, fmt.Errorf("%w: %v", ErrInvalidTicket, err)
	}
	sub, _ := claims["sub"].(string)
	p, _ := claims["path"].(string)
	id, _ := claims["jti"].(string)
	if sub == "" || id == "" {
		return Ticket{}, fmt.Errorf("%w: no sub or jti", ErrInvalidTicket)
	}
	if p != path {
		return Ticket{}, fmt.Errorf("%w: issued for %s, not %s", ErrInvalidTicket, p, path)
	}
	exp, _ := claims.GetExpirationTime()
	u := &User{ID: sub, Roles: []string{}, Claims: map[string]any{"sub": sub, "roles": claims["roles"]}}
	if roles, ok := claims["roles"].([]any); ok {
		for _, r := range roles {
			if s, ok := r.(string); ok && s != "" {
				u.Roles = append(u.Roles, s)
			}
		}
	}
	return Ticket{User: u, Path: p, ID: id, Expires: exp.Time}, nil
}
