package engine

import (
	"context"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/vbwd-platform/vbwd-engine/engine/streamauth"
)

// Stream tickets and the signing of stream notifications live in
// engine/streamauth; it reaches the engine through the streamauth.Host
// setupStreamAuth fills.

// Publish sends an event to a channel's subscribers on every engine sharing
// the database (or on this engine without one): engine/relay.
func (e *Engine) Publish(ctx context.Context, ev StreamEvent) error { return e.relay.Publish(ctx, ev) }

// setupStreamAuth makes the engine's stream tickets (after setupServe: a
// ticket is asked for with the credentials any route takes).
func (e *Engine) setupStreamAuth() {
	e.streams = streamauth.New(streamauth.Host{Authorize: e.serve.Authorize, Check: e.Check, IsStreamPath: e.isStreamPath},
		streamauth.Config{JWT: e.jwt, DB: e.opts.DB, Used: &e.tickets, Log: e.log})
}

// issueStreamTicket is POST /stream-tickets {"path": "<a stream route's path>"}.
func (e *Engine) issueStreamTicket(w http.ResponseWriter, r *http.Request) { e.streams.Issue(w, r) }

// isStreamPath reports whether GET path reaches a stream route of the
// serving snapshot.
func (e *Engine) isStreamPath(path string) bool {
	snap := e.snap.Load()
	rctx := chi.NewRouteContext()
	if !snap.mux.Match(rctx, http.MethodGet, path) {
		return false
	}
	pattern := rctx.RoutePattern()
	for _, g := range snap.gens {
		if g.Mux == nil {
			continue
		}
		for _, rt := range g.RouteList {
			if rt.Stream && rt.Method == http.MethodGet && streamauth.SamePattern(g.Manifest.URLPrefix+rt.Path, pattern) {
				return true
			}
		}
	}
	return false
}
