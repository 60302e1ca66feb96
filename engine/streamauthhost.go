package engine

import (
	"context"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/vbwd-platform/vbwd-engine/engine/streamauth"
	"github.com/vbwd-platform/vbwd-engine/engine/web"
	"github.com/vbwd-platform/vbwd-engine/hostapi"
)

// Stream tickets and the signing of stream notifications live in
// engine/streamauth; it reaches the engine through streamauthHost.

const streamTicketPath = streamauth.TicketPath

// Publish sends an event to a channel's subscribers on every engine sharing
// the database (or on this engine without one): engine/relay.
func (e *Engine) Publish(ctx context.Context, ev StreamEvent) error { return e.relay.Publish(ctx, ev) }

func (e *Engine) streamTickets() streamauth.Tickets {
	return streamauth.New(streamauthHost{e}, streamauth.Config{JWT: e.jwt, DB: e.opts.DB, Used: &e.tickets, Log: e.log})
}

// issueStreamTicket is POST /stream-tickets {"path": "<a stream route's path>"}.
func (e *Engine) issueStreamTicket(w http.ResponseWriter, r *http.Request) {
	e.streamTickets().Issue(w, r)
}

// streamauthHost is the engine as engine/streamauth sees it (streamauth.Host).
type streamauthHost struct{ e *Engine }

func (h streamauthHost) Authorize(w *web.RespWriter, r *http.Request, perm string, needUser bool) (*hostapi.User, bool) {
	return h.e.serve.Authorize(w, r, perm, needUser)
}

func (h streamauthHost) Check(u *hostapi.User, perm string) bool { return h.e.Check(u, perm) }

// IsStreamPath reports whether GET path reaches a stream route of the
// serving snapshot.
func (h streamauthHost) IsStreamPath(path string) bool {
	snap := h.e.snap.Load()
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
