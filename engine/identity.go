package engine

// identity.go — the engine's side of sign-in: the token verifier built at
// New from the root config.json (vbwd.auth) and the engine's own issuer key,
// the vbwd.auth host module bound to it, and /.well-known/jwks.json.

import (
	"crypto/ed25519"
	"fmt"
	"net/http"

	"github.com/vbwd-platform/vbwd-engine/engine/spec"
	"github.com/vbwd-platform/vbwd-engine/hostapi"
	"github.com/vbwd-platform/vbwd-engine/internal/auth"
	vauth "github.com/vbwd-platform/vbwd-engine/stdlib/auth"
)

// JWKSPath is where the engine publishes its token signing key.
const JWKSPath = "/.well-known/jwks.json"

// setupIdentity builds the verifier, the trusted proxies and the rate
// limiter. The auth settings are read once: a change needs a restart. A
// root config.json that does not parse counts as empty here: Load reports it.
func (e *Engine) setupIdentity() error {
	rootCfg, _ := spec.ReadRootConfig(e.opts.Root)
	ac, err := auth.ParseConfig(rootCfg[spec.EngineConfigKey]["auth"])
	if err != nil {
		return err
	}
	if e.proxies, err = trustedProxies(rootCfg); err != nil {
		return err
	}
	key, err := e.issuerKey()
	if err != nil {
		return err
	}
	var self *auth.Issuer
	if key != nil {
		self = auth.NewIssuer(ac.Issuer, ac.Audience, key)
	}
	e.jwt, err = auth.New(auth.Options{Secret: e.opts.JWTSecret, Leeway: ac.Leeway(), Issuers: ac.Issuers,
		Self: self, Clock: e.opts.Clock, Logger: e.log})
	if err != nil {
		return fmt.Errorf("config.json: %w", err)
	}
	e.rate = e.newRateLimiter()
	return nil
}

// issuerKey is Options.IssuerKey, or the key in Options.IssuerKeyFile (made
// there when absent), or nil: the engine then issues no tokens.
func (e *Engine) issuerKey() (ed25519.PrivateKey, error) {
	if e.opts.IssuerKey != nil || e.opts.IssuerKeyFile == "" {
		return e.opts.IssuerKey, nil
	}
	key, created, err := auth.LoadOrCreateKey(e.opts.IssuerKeyFile)
	if err != nil {
		return nil, fmt.Errorf("the engine's issuer key: %w", err)
	}
	if created {
		e.log.Info("made the engine's token signing key", "file", e.opts.IssuerKeyFile)
	}
	return key, nil
}

// authModule binds vbwd.auth to a plugin generation.
func (e *Engine) authModule(p hostapi.Plugin) hostapi.Module {
	return vauth.New(e.jwt.Issuer(), p.Name, e.opts.Clock)
}

// serveJWKS answers the engine's public key as a JWK Set, or 404 when the
// engine issues no tokens.
func (e *Engine) serveJWKS(w http.ResponseWriter, _ *http.Request) {
	iss := e.jwt.Issuer()
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
