package engine

import (
	"context"
	"net"

	"github.com/vbwd-platform/vbwd-engine/engine/endpoints"
)

// The engine's own endpoints (the snapshot's root router), its readiness
// and running its server live in engine/endpoints; the engine fills
// endpoints.Endpoints once, at New.

// ServeOptions tune Serve (see engine/endpoints).
type ServeOptions = endpoints.ServeOptions

// Serve serves the engine's handler on ln until ctx is done, then shuts down
// gracefully: it stops accepting, drains in-flight requests, and retires
// every generation (on_disable runs once each).
func (e *Engine) Serve(ctx context.Context, ln net.Listener, so ServeOptions) error {
	return endpoints.Serve(ctx, ln, so, endpoints.Engine{Handler: e.Handler(), CloseStreams: e.relay.Close,
		Shutdown: e.Shutdown, Log: e.log})
}

// setupEndpoints gives the snapshots' routers the engine's endpoints (after
// the admin API is built).
func (e *Engine) setupEndpoints() {
	e.endpoints = endpoints.Endpoints{NotFound: e.notFound, Readyz: e.readyz, JWKS: e.serveJWKS,
		StreamTicket: e.issueStreamTicket, OpenAPI: e.serveOpenAPI, Admin: e.admin, Metrics: e.metrics.Handler()}
}

// Ready reports whether every wanted plugin is enabled or explicitly failed
// and the database (if any) answers.
func (e *Engine) Ready(ctx context.Context) (bool, []string) {
	ok, why, _ := e.readiness(ctx)
	return ok, why
}

// readiness is Ready plus the database's own error, for GET /admin/status
// (one ping serves both).
func (e *Engine) readiness(ctx context.Context) (bool, []string, error) {
	return endpoints.Readiness{Up: e.up.Load(), Waiting: e.records().Waiting(), Relaying: e.relay.Listening(),
		DB: e.opts.DB, Log: e.log}.Verdict(ctx)
}
