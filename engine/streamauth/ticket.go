// Package streamauth authenticates streams: the single-use tickets a
// browser's EventSource presents in place of an API token (ticket.go), and
// the signatures on the stream notifications engines relay to each other
// (key.go). It reaches the engine through Host and never imports it.
package streamauth

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vbwd-platform/vbwd-engine/engine/web"
	"github.com/vbwd-platform/vbwd-engine/hostapi"
	"github.com/vbwd-platform/vbwd-engine/internal/auth"
)

// Stream tickets (docs/ops.md, "Browser streams"): EventSource cannot send
// an Authorization header, so POST /stream-tickets trades the caller's API
// token for a ticket bound to the user and one stream path, valid for
// seconds, that the stream route takes as ?ticket=. Tickets are signed with
// a key derived from the JWT secret (internal/auth), so any node accepts
// them, and used once: their ids are recorded in vbwd.stream_tickets (every
// node sharing the database sees them), or in memory without a database.

const (
	// TicketPath is where tickets are issued (POST).
	TicketPath      = "/stream-tickets"
	streamTicketTTL = 30 * time.Second
)

// Host is what stream tickets need of the engine: functions the engine
// fills once, at New (engine/streamauthhost.go).
type Host struct {
	// Authorize checks the request's Authorization header as any route does.
	Authorize func(w *web.RespWriter, r *http.Request, perm string, needUser bool) (*hostapi.User, bool)
	// Check: u holds the plugin permission perm.
	Check func(u *hostapi.User, perm string) bool
	// IsStreamPath: GET path reaches a stream route of the serving snapshot.
	IsStreamPath func(path string) bool
}

// Config is what stream tickets read of the engine.
type Config struct {
	JWT  *auth.Verifier
	DB   *pgxpool.Pool    // nil: used tickets are recorded in Used alone
	Used *web.UsedTickets // the tickets used, without a database
	Log  *slog.Logger
}

// Tickets issues and checks one engine's stream tickets.
type Tickets struct {
	h       Host
	jwt     *auth.Verifier
	db      *pgxpool.Pool
	tickets *web.UsedTickets
	log     *slog.Logger
}

// New makes the stream tickets of the engine h.
func New(h Host, c Config) Tickets {
	return Tickets{h: h, jwt: c.JWT, db: c.DB, tickets: c.Used, log: c.Log}
}

// useTicket records t as used; false when it was used before.
func (e Tickets) useTicket(ctx context.Context, t auth.Ticket) (bool, error) {
	return e.tickets.Use(ctx, e.db, t.ID, t.Expires, time.Now())
}

// Issue is POST /stream-tickets {"path": "<a stream route's path>"}.
func (e Tickets) Issue(w http.ResponseWriter, r *http.Request) {
	rw := web.AsRespWriter(w)
	if !e.jwt.Enabled() {
		web.WriteError(rw, http.StatusNotFound, "stream tickets need VBWD_JWT_SECRET (API tokens)", nil)
		return
	}
	u, err := e.jwt.FromHeader(r.Header.Get("Authorization"))
	if err != nil {
		rw.Header().Set("WWW-Authenticate", `Bearer`)
		web.WriteError(rw, http.StatusUnauthorized, "a stream ticket needs a valid API token: "+err.Error(), nil)
		return
	}
	var req struct {
		Path string `json:"path"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil || !strings.HasPrefix(req.Path, "/") {
		web.WriteError(rw, http.StatusUnprocessableEntity, `want {"path": "/<the stream route's path>"}`, map[string]any{"field": "path"})
		return
	}
	if !e.h.IsStreamPath(req.Path) {
		web.WriteError(rw, http.StatusNotFound, "no stream route at "+req.Path, nil)
		return
	}
	tok, t, err := e.jwt.MintTicket(u, req.Path, streamTicketTTL, time.Now())
	if err != nil {
		web.WriteError(rw, http.StatusInternalServerError, "cannot issue a ticket", nil)
		return
	}
	web.WriteJSON(rw, http.StatusCreated, map[string]any{"ticket": tok, "expires_in": int(streamTicketTTL / time.Second),
		"expires_at": t.Expires.UTC().Format(time.RFC3339), "url": req.Path + "?ticket=" + tok})
}

// SamePattern compares chi patterns, ignoring how sub-routers join slashes.
func SamePattern(a, b string) bool {
	norm := func(s string) string { return strings.TrimSuffix(strings.ReplaceAll(s, "/*/", "/"), "/") }
	return norm(a) == norm(b)
}

// Authorize is Host.Authorize for a stream route, which also takes a
// stream ticket (?ticket=) in place of the Authorization header.
func (e Tickets) Authorize(w *web.RespWriter, r *http.Request, perm string, needUser bool) (*hostapi.User, bool) {
	tk := r.URL.Query().Get("ticket")
	if tk == "" || r.Header.Get("Authorization") != "" {
		return e.h.Authorize(w, r, perm, needUser)
	}
	t, err := e.jwt.VerifyTicket(tk, r.URL.Path, time.Now())
	if err == nil {
		fresh, uerr := e.useTicket(r.Context(), t)
		if uerr != nil {
			e.log.Warn("stream tickets: cannot record a ticket's use", "err", uerr)
			web.WriteError(w, http.StatusServiceUnavailable, "cannot check the stream ticket now, retry later", nil)
			return nil, false
		}
		if !fresh {
			err = errors.New("stream ticket already used: get a new one")
		}
	}
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		web.WriteError(w, http.StatusUnauthorized, err.Error(), nil)
		return nil, false
	}
	// The handler need not see the ticket (req.query): it is spent.
	q := r.URL.Query()
	q.Del("ticket")
	r.URL.RawQuery = q.Encode()
	user := &hostapi.User{ID: t.User.ID, Roles: t.User.Roles, Claims: t.User.Claims}
	if perm != "" && !e.h.Check(user, perm) {
		web.WriteError(w, http.StatusForbidden, "Permission denied", map[string]any{"required": perm})
		return nil, false
	}
	return user, true
}
