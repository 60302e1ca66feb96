// Package identity is who calls the engine: the token verifier built at
// New from the root config.json (vbwd.auth) and the engine's own issuer
// key, the vbwd.auth host module bound to it, /.well-known/jwks.json, the
// trusted proxies that give the client address, and the route rate limits
// counted per client (ratelimit.go). It needs nothing of the engine but
// its options, and never imports it.
package identity

import (
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vbwd-platform/vbwd-engine/engine/spec"
	"github.com/vbwd-platform/vbwd-engine/hostapi"
	"github.com/vbwd-platform/vbwd-engine/internal/auth"
	"github.com/vbwd-platform/vbwd-engine/internal/ratelimit"
	vauth "github.com/vbwd-platform/vbwd-engine/stdlib/auth"
)

// JWKSPath is where the engine publishes its token signing key.
const JWKSPath = "/.well-known/jwks.json"

// Config is what identity reads of the engine's options.
type Config struct {
	Root          string // the root config.json is read from it
	DB            *pgxpool.Pool
	JWTSecret     string
	IssuerKey     ed25519.PrivateKey
	IssuerKeyFile string
	Clock         func() time.Time
	Log           *slog.Logger
}

// Identity is what Setup builds.
type Identity struct {
	JWT     *auth.Verifier     // every kind of bearer token
	Proxies ratelimit.Proxies  // trusted reverse proxies, for the client address
	Rate    *ratelimit.Limiter // route rate limits
}

// Setup builds the verifier, the trusted proxies and the rate limiter. The
// auth settings are read once: a change needs a restart. A root
// config.json that does not parse counts as empty here: Load reports it.
func Setup(c Config) (Identity, error) {
	var id Identity
	rootCfg, _ := spec.ReadRootConfig(c.Root)
	ac, err := auth.ParseConfig(rootCfg[spec.EngineConfigKey]["auth"])
	if err != nil {
		return id, err
	}
	if id.Proxies, err = trustedProxies(rootCfg); err != nil {
		return id, err
	}
	key, err := issuerKey(c)
	if err != nil {
		return id, err
	}
	var self *auth.Issuer
	if key != nil {
		self = auth.NewIssuer(ac.Issuer, ac.Audience, key)
	}
	id.JWT, err = auth.New(auth.Options{Secret: c.JWTSecret, Leeway: ac.Leeway(), Issuers: ac.Issuers,
		Self: self, Clock: c.Clock, Logger: c.Log})
	if err != nil {
		return id, fmt.Errorf("config.json: %w", err)
	}
	id.Rate = newRateLimiter(c)
	return id, nil
}

// issuerKey is Options.IssuerKey, or the key in Options.IssuerKeyFile (made
// there when absent), or nil: the engine then issues no tokens.
func issuerKey(c Config) (ed25519.PrivateKey, error) {
	if c.IssuerKey != nil || c.IssuerKeyFile == "" {
		return c.IssuerKey, nil
	}
	key, created, err := auth.LoadOrCreateKey(c.IssuerKeyFile)
	if err != nil {
		return nil, fmt.Errorf("the engine's issuer key: %w", err)
	}
	if created {
		c.Log.Info("made the engine's token signing key", "file", c.IssuerKeyFile)
	}
	return key, nil
}

// AuthModule binds vbwd.auth, signing with jwt's issuer, to plugin p.
func AuthModule(jwt *auth.Verifier, p hostapi.Plugin, clock func() time.Time) hostapi.Module {
	return vauth.New(jwt.Issuer(), p.Name, clock)
}

// ServeJWKS answers the engine's public key as a JWK Set, or 404 when the
// engine issues no tokens.
func ServeJWKS(jwt *auth.Verifier, w http.ResponseWriter) {
	iss := jwt.Issuer()
	if iss == nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":"this engine issues no tokens","keys":[]}`))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(iss.JWKS())
}
