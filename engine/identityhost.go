package engine

import (
	"net/http"

	"github.com/vbwd-platform/vbwd-engine/engine/identity"
	"github.com/vbwd-platform/vbwd-engine/hostapi"
)

// Who calls the engine (tokens, the issuer key, trusted proxies, route rate
// limits) lives in engine/identity; it needs only the engine's options.

// JWKSPath is where the engine publishes its token signing key.
const JWKSPath = identity.JWKSPath

// setupIdentity builds the verifier, the trusted proxies and the rate
// limiter (see identity.Setup).
func (e *Engine) setupIdentity() error {
	id, err := identity.Setup(identity.Config{Root: e.opts.Root, DB: e.opts.DB, JWTSecret: e.opts.JWTSecret,
		IssuerKey: e.opts.IssuerKey, IssuerKeyFile: e.opts.IssuerKeyFile, Clock: e.opts.Clock, Log: e.log})
	if err != nil {
		return err
	}
	e.jwt, e.proxies, e.rate = id.JWT, id.Proxies, id.Rate
	return nil
}

// authModule binds vbwd.auth to a plugin generation.
func (e *Engine) authModule(p hostapi.Plugin) hostapi.Module {
	return identity.AuthModule(e.jwt, p, e.opts.Clock)
}

// serveJWKS answers the engine's public key as a JWK Set, or 404 when the
// engine issues no tokens.
func (e *Engine) serveJWKS(w http.ResponseWriter, _ *http.Request) { identity.ServeJWKS(e.jwt, w) }
