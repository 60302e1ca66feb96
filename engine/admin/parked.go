package admin

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/vbwd-platform/vbwd-engine/engine/web"
)

// The admin side of parked events (see outbox.go): ops list the events
// waiting for a subscriber that does not run, and discard them for it.

// ParkedEvent is a durable event waiting for subscribers that do not run.
type ParkedEvent struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Source     string    `json:"source"`
	WaitingFor []string  `json:"waiting_for"`
	Attempts   int       `json:"attempts"`
	CreatedAt  time.Time `json:"created_at"`
}

const (
	listParkedSQL = `select id::text, name, source, waiting_for, attempts, created_at from vbwd.events_outbox
	where status = 'parked' and ($1 = '' or $1 = any(waiting_for)) order by created_at limit $2`
	// discardParkedSQL marks plugin $1 done for its parked events (all, or
	// event $2): it will not be given them; an event nothing else waits for
	// goes back to pending and is marked delivered by the next worker round.
	discardParkedSQL = `with d as (
		update vbwd.events_outbox set waiting_for = array_remove(waiting_for, $1), next_attempt_at = now(),
			status = case when cardinality(array_remove(waiting_for, $1)) = 0 then 'pending' else status end
		where status = 'parked' and $1 = any(waiting_for) and ($2::uuid is null or id = $2::uuid)
		returning id)
	insert into vbwd.events_deliveries (event_id, plugin) select id, $1 from d on conflict do nothing`
)

// parkedRoutes: GET /events/parked[?plugin=&limit=] and
// POST /events/parked/discard?plugin=[&id=].
func (e *API) parkedRoutes(r chi.Router) {
	r.Get("/events/parked", e.adminListParked)
	r.Post("/events/parked/discard", e.adminDiscardParked)
}

func (e *API) adminListParked(w http.ResponseWriter, r *http.Request) {
	if e.opts.DB == nil {
		web.WriteJSON(w, http.StatusOK, map[string]any{"events": []ParkedEvent{}})
		return
	}
	limit, err := strconv.Atoi(r.URL.Query().Get("limit"))
	if err != nil || limit <= 0 || limit > 10000 {
		limit = 1000
	}
	ctx, cancel := context.WithTimeout(r.Context(), outboxDBTimeout)
	defer cancel()
	rows, err := e.opts.DB.Query(ctx, listParkedSQL, r.URL.Query().Get("plugin"), limit)
	var evs []ParkedEvent
	if err == nil {
		evs, err = pgx.CollectRows(rows, pgx.RowToStructByPos[ParkedEvent])
	}
	if err != nil {
		e.writeAdminError(w, err)
		return
	}
	if evs == nil {
		evs = []ParkedEvent{}
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"events": evs})
}

func (e *API) adminDiscardParked(w http.ResponseWriter, r *http.Request) {
	rw := web.AsRespWriter(w)
	plugin, id := r.URL.Query().Get("plugin"), r.URL.Query().Get("id")
	if plugin == "" {
		web.WriteError(rw, http.StatusBadRequest, "say whose events to discard: ?plugin=<name>[&id=<event id>]", nil)
		return
	}
	var idArg any
	if id != "" {
		if _, err := uuid.Parse(id); err != nil {
			web.WriteError(rw, http.StatusBadRequest, "id must be an event id (a uuid)", nil)
			return
		}
		idArg = id
	}
	if e.opts.DB == nil {
		web.WriteJSON(w, http.StatusOK, map[string]any{"discarded": 0})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), outboxDBTimeout)
	defer cancel()
	tag, err := e.opts.DB.Exec(ctx, discardParkedSQL, plugin, idArg)
	if err != nil {
		e.writeAdminError(w, err)
		return
	}
	e.log.Warn("events: parked events discarded by an admin", "plugin", plugin, "event_id", id, "events", tag.RowsAffected())
	web.WriteJSON(w, http.StatusOK, map[string]any{"discarded": tag.RowsAffected(), "plugin": plugin})
}
