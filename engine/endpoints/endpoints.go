// Package endpoints holds the engine's own HTTP surface around the plugins'
// routes: the router of a snapshot (the engine's endpoints, and each
// generation's sub-router mounted at its url_prefix), the readiness verdict
// /readyz and GET /admin/status answer, and running the engine's handler on
// a listener (ServeOptions: the server's timeouts and the order of a
// graceful shutdown). The engine fills Endpoints once, at New; this package
// never imports it.
package endpoints

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sort"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vbwd-platform/vbwd-engine/console"
	"github.com/vbwd-platform/vbwd-engine/engine/gen"
	"github.com/vbwd-platform/vbwd-engine/engine/identity"
	"github.com/vbwd-platform/vbwd-engine/engine/pgcoord"
	"github.com/vbwd-platform/vbwd-engine/engine/serve"
	"github.com/vbwd-platform/vbwd-engine/engine/streamauth"
	"github.com/vbwd-platform/vbwd-engine/engine/web"
)

// Endpoints are the handlers of the engine's own endpoints.
type Endpoints struct {
	NotFound     http.HandlerFunc // no route (503 while shutting down)
	Readyz       http.HandlerFunc // GET /readyz
	JWKS         http.HandlerFunc // GET /.well-known/jwks.json
	StreamTicket http.HandlerFunc // POST /stream-tickets
	OpenAPI      http.HandlerFunc // GET /openapi.json
	Admin        http.Handler     // /admin
	Metrics      http.Handler     // /metrics
}

// Router makes the router of a snapshot: the engine's own endpoints and
// each generation's sub-router mounted at its url_prefix.
func (ep Endpoints) Router(gens []*gen.Generation) (mux *chi.Mux, err error) {
	defer func() {
		if p := recover(); p != nil {
			mux, err = nil, fmt.Errorf("building the router: %v", p)
		}
	}()
	mux = chi.NewRouter()
	mux.NotFound(ep.NotFound)
	mux.MethodNotAllowed(serve.MethodNotAllowed)
	mux.Get("/healthz", func(w http.ResponseWriter, r *http.Request) {
		web.WriteJSON(w, http.StatusOK, map[string]any{"status": "ok"})
	})
	mux.Get("/readyz", ep.Readyz)
	mux.Mount("/admin/ui", console.Handler("/admin/ui")) // the page needs no auth; its API calls do
	mux.Get(identity.JWKSPath, ep.JWKS)
	mux.Post(streamauth.TicketPath, ep.StreamTicket)
	mux.Mount("/admin", ep.Admin)
	mux.Get("/openapi.json", ep.OpenAPI)
	mux.Handle("/metrics", ep.Metrics)
	for _, g := range gens {
		if g.Mux != nil {
			mux.Mount(g.Manifest.URLPrefix, g.Mux)
		}
	}
	return mux, nil
}

// Readiness is what the readiness verdict is made of.
type Readiness struct {
	Up       bool     // started and not shut down
	Waiting  []string // wanted plugins neither enabled nor failed (records.Set.Waiting)
	Relaying bool     // the stream relay is listening (relay.Relay.Listening)
	DB       *pgxpool.Pool
	Log      *slog.Logger
}

// Verdict says whether the engine is ready, why not, and the database's
// own error, for GET /admin/status (one ping serves both): every wanted
// plugin is enabled or explicitly failed, the stream relay listens and the
// database (if any) answers.
func (rd Readiness) Verdict(ctx context.Context) (bool, []string, error) {
	var why []string
	var dbErr error
	if !rd.Up {
		why = append(why, "engine not serving")
	}
	why = append(why, rd.Waiting...)
	if !rd.Relaying {
		why = append(why, "stream relay: not listening yet")
	}
	if rd.DB != nil {
		if dbErr = pgcoord.Ping(ctx, rd.DB); dbErr != nil {
			// no connection details here (/readyz is public): they go to
			// the log and to GET /admin/status
			rd.Log.Warn("readiness: the database does not answer", "err", dbErr)
			why = append(why, "database: unavailable")
		}
	}
	sort.Strings(why)
	return len(why) == 0, why, dbErr
}
