// Package serve is the engine's HTTP request surface for plugin routes:
// each generation's routes compiled into its own chi router with one
// handler per route (routeServer, built once), a route call (request
// checks, a borrowed state, the Lua handler, its result encoded) and the
// serving side of event streams. It never imports the engine: what it
// needs of it comes in Config, built once, and through Host.
package serve

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/vbwd-platform/vbwd-engine/engine/gen"
	"github.com/vbwd-platform/vbwd-engine/engine/identity"
	"github.com/vbwd-platform/vbwd-engine/engine/registry"
	"github.com/vbwd-platform/vbwd-engine/engine/web"
	"github.com/vbwd-platform/vbwd-engine/hostapi"
	"github.com/vbwd-platform/vbwd-engine/internal/auth"
	"github.com/vbwd-platform/vbwd-engine/internal/ratelimit"
)

// Host is the engine as a route call reaches it. The engine implements it
// with a pointer (engine/servehost.go), so a call boxes nothing.
type Host interface {
	// Redispatch serves a request again through the current router: its
	// route belonged to a generation retired after the router lookup.
	Redispatch(w http.ResponseWriter, r *http.Request)
	// Check reports whether user holds permission perm under the current grants.
	Check(u *hostapi.User, perm string) bool
	// AuthorizeStream is Server.Authorize for a stream route, which also
	// takes a stream ticket (?ticket=) in place of the Authorization header.
	AuthorizeStream(w *web.RespWriter, r *http.Request, perm string, needUser bool) (*hostapi.User, bool)
	// NoteCallError records a handler's failure in the plugin's recent errors.
	NoteCallError(g *gen.Generation, rt registry.Route, requestID string, r *http.Request, err error)
}

// Config is what the engine gives the route surface, once.
type Config struct {
	Host    Host
	JWT     *auth.Verifier     // every kind of bearer token (engine/identity)
	Proxies ratelimit.Proxies  // trusted reverse proxies, for the client address
	Rate    *ratelimit.Limiter // route rate limits
	Log     *slog.Logger
	Metrics *web.Metrics
	// Broker holds the event streams' subscribers; StreamsDone is closed
	// when shutdown begins (event streams end first).
	Broker      *web.Broker
	StreamsDone <-chan struct{}
	// RequestTimeout and MaxBodyBytes apply to a route without its own.
	RequestTimeout time.Duration
	MaxBodyBytes   int64
	// NotFound answers a path or method a generation's router has none for.
	NotFound http.HandlerFunc
}

// Server serves the routes of the engine's generations.
type Server struct {
	cfg Config
	id  identity.Identity
}

// New makes the route surface over cfg.
func New(cfg Config) *Server {
	return &Server{cfg: cfg, id: identity.Identity{JWT: cfg.JWT, Proxies: cfg.Proxies, Rate: cfg.Rate}}
}
