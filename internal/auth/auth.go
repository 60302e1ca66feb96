// Package auth verifies API tokens and issues the engine's own:
//
//   - HS256 JWTs signed with the engine's shared secret (VBWD_JWT_SECRET),
//     for development and tests (Mint makes them);
//   - RS256, ES256 and EdDSA JWTs of the identity providers configured in
//     root config.json (vbwd.auth.issuers), checked against their JWK Sets
//     (jwks.go);
//   - EdDSA JWTs the engine signed itself with its Ed25519 key (issuer.go),
//     for plugins that sign users in (vbwd.auth.issue).
//
// It refuses alg "none", algorithms an issuer is not configured for, an
// unknown issuer, a wrong audience, expired or not-yet-valid tokens and bad
// signatures.
package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
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

// Where a verified token came from (User.Source).
const (
	SourceSecret = "secret" // HS256 with the shared secret
	SourceEngine = "engine" // signed by the engine's own key (vbwd.auth.issue)
	// otherwise the issuer URL of a configured identity provider
)

// DefaultLeeway is the clock skew tolerated on exp, nbf and iat.
const DefaultLeeway = 30 * time.Second

// User is who a valid token speaks for.
type User struct {
	ID     string         `json:"id"`
	Roles  []string       `json:"roles"`
	Claims map[string]any `json:"claims"`
	Source string         `json:"-"` // SourceSecret, SourceEngine or the issuer URL
}

// Options configure a Verifier.
type Options struct {
	Secret  string         // HS256 shared secret; empty: no HS256 tokens
	Leeway  time.Duration  // clock skew; 0: DefaultLeeway
	Issuers []IssuerConfig // identity providers
	Self    *Issuer        // the engine's own issuer; nil: none
	Client  *http.Client   // fetches key sets; nil: one with a timeout
	Logger  *slog.Logger
	// Clock judges exp, nbf and iat of the engine's own tokens (the test
	// clock under `vbwd test`, which also issues them); nil: time.Now.
	// Other tokens are judged on the wall clock, as their issuers made them.
	Clock func() time.Time
}

// Verifier checks tokens from every configured source.
type Verifier struct {
	secret []byte
	leeway time.Duration
	self   *Issuer
	selfP  *jwt.Parser
	remote map[string]*remoteIssuer
	cancel context.CancelFunc
}

// NewVerifier returns a verifier for secret alone; an empty secret verifies
// nothing (every token is refused with ErrNoSecret).
func NewVerifier(secret string) *Verifier {
	v, _ := New(Options{Secret: secret, Leeway: 5 * time.Second})
	return v
}

// New returns a verifier for o. Close it to stop the key-set refreshes.
func New(o Options) (*Verifier, error) {
	if o.Leeway == 0 {
		o.Leeway = DefaultLeeway
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: jwksHTTPTimeout}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	v := &Verifier{secret: []byte(o.Secret), leeway: o.Leeway, self: o.Self, cancel: cancel,
		remote: map[string]*remoteIssuer{}}
	if o.Self != nil {
		opts := []jwt.ParserOption{jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithIssuer(o.Self.URL),
			jwt.WithLeeway(o.Leeway), jwt.WithExpirationRequired(), jwt.WithIssuedAt()}
		if o.Clock != nil {
			opts = append(opts, jwt.WithTimeFunc(o.Clock))
		}
		if o.Self.Audience != "" {
			opts = append(opts, jwt.WithAudience(o.Self.Audience))
		}
		v.selfP = jwt.NewParser(opts...)
	}
	for i, ic := range o.Issuers {
		if err := ic.validate(); err != nil {
			cancel()
			return nil, fmt.Errorf("vbwd.auth.issuers[%d]: %w", i, err)
		}
		if _, dup := v.remote[ic.Issuer]; dup || (o.Self != nil && ic.Issuer == o.Self.URL) {
			cancel()
			return nil, fmt.Errorf("vbwd.auth.issuers[%d]: issuer %q is configured twice (or is the engine's own)", i, ic.Issuer)
		}
		v.remote[ic.Issuer] = newRemoteIssuer(ctx, ic, o.Leeway, o.Client, o.Logger)
	}
	return v, nil
}

func (ic IssuerConfig) validate() error {
	switch {
	case ic.Issuer == "":
		return errors.New("issuer is required")
	case (ic.JWKSURL == "") == (ic.DiscoveryURL == ""):
		return errors.New("give exactly one of jwks_url and discovery_url")
	case ic.Audience == "":
		return errors.New("audience is required (tokens meant for other services must not be accepted)")
	}
	for _, a := range ic.Algorithms {
		if !strings.HasPrefix(a, "RS") && !strings.HasPrefix(a, "ES") && !strings.HasPrefix(a, "PS") && a != "EdDSA" {
			return fmt.Errorf("algorithm %q is not an asymmetric JWS algorithm", a)
		}
	}
	return nil
}

// Close stops the background refresh of the issuers' key sets.
func (v *Verifier) Close() { v.cancel() }

// Issuer is the engine's own issuer, or nil.
func (v *Verifier) Issuer() *Issuer { return v.self }

// Enabled reports whether any kind of token can be verified.
func (v *Verifier) Enabled() bool { return len(v.secret) > 0 || v.self != nil || len(v.remote) > 0 }

// FromHeader verifies the token of an "Authorization: Bearer <jwt>" header.
func (v *Verifier) FromHeader(h string) (*User, error) {
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || tok == "" {
		return nil, ErrNoToken
	}
	return v.Verify(tok)
}

// Verify is VerifyContext without a context of the caller's.
func (v *Verifier) Verify(token string) (*User, error) {
	return v.VerifyContext(context.Background(), token)
}

// VerifyContext checks a token's signature, issuer, audience, expiry,
// not-before and issued-at (not in the future), and returns its user: sub
// is the id, roles a list of strings. The token's alg and iss choose the
// source: HS256 the shared secret; otherwise the engine's own issuer or a
// configured identity provider, by exact iss. ctx bounds a key-set fetch.
func (v *Verifier) VerifyContext(ctx context.Context, token string) (*User, error) {
	if tokenAlg(token) == "HS256" || (len(v.secret) > 0 && v.self == nil && len(v.remote) == 0) {
		return v.verifySecret(token) // parses the token once, where a full unverified parse first made it twice
	}
	tok, _, err := jwt.NewParser().ParseUnverified(token, jwt.MapClaims{})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	iss, _ := tok.Claims.(jwt.MapClaims)["iss"].(string)
	var claims jwt.MapClaims
	var source, rolesPath string
	switch ri := v.remote[iss]; {
	case v.self != nil && iss == v.self.URL:
		claims, source, rolesPath = jwt.MapClaims{}, SourceEngine, "roles"
		_, err = v.selfP.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
			if kid, _ := t.Header["kid"].(string); kid != v.self.kid {
				return nil, fmt.Errorf("unknown kid %q", kid)
			}
			return v.self.PublicKey(), nil
		})
	case ri != nil:
		source, rolesPath = iss, ri.cfg.RolesClaim
		claims, err = ri.verify(ctx, token)
	default:
		return nil, fmt.Errorf("%w: unknown issuer %q", ErrInvalidToken, iss)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if rolesPath == "" {
		rolesPath = "roles"
	}
	return userOf(claims, source, rolesPath)
}

// tokenAlg reads the alg of a token's header, decoding nothing else; ""
// when the header is malformed (the full parse then says why).
func tokenAlg(token string) string {
	head, _, ok := strings.Cut(token, ".")
	if !ok {
		return ""
	}
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return ""
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(raw, &h) != nil {
		return ""
	}
	return h.Alg
}

func userOf(claims jwt.MapClaims, source, rolesPath string) (*User, error) {
	sub, _ := claims["sub"].(string)
	if sub == "" {
		return nil, fmt.Errorf("%w: no sub claim", ErrInvalidToken)
	}
	return &User{ID: sub, Claims: map[string]any(claims), Roles: rolesOf(claims, rolesPath), Source: source}, nil
}

// verifySecret checks an HS256 token against the shared secret.
func (v *Verifier) verifySecret(token string) (*User, error) {
	if len(v.secret) == 0 {
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
	return userOf(claims, SourceSecret, "roles")
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
