package native

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

type note struct {
	ID        string    `json:"id"`
	Slug      string    `json:"slug"`
	Title     string    `json:"title"`
	Body      string    `json:"body"`
	Tags      []string  `json:"tags"`
	Pinned    bool      `json:"pinned"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// NoteByID is the notes plugin's GET /api/v1/notes/{id} — one row read by
// primary key — written as a native Go handler.
func NoteByID(pool *pgxpool.Pool) http.Handler {
	r := chi.NewRouter()
	r.Get("/api/v1/notes/{id}", func(w http.ResponseWriter, r *http.Request) {
		var n note
		err := pool.QueryRow(r.Context(),
			"select id::text, slug, title, body, tags, pinned, created_at, updated_at from notes.notes_notes where id = $1",
			chi.URLParam(r, "id")).Scan(&n.ID, &n.Slug, &n.Title, &n.Body, &n.Tags, &n.Pinned, &n.CreatedAt, &n.UpdatedAt)
		if errors.Is(err, pgx.ErrNoRows) {
			http.Error(w, `{"error":"no such note"}`, http.StatusNotFound)
			return
		}
		if err != nil {
			http.Error(w, `{"error":"internal"}`, http.StatusInternalServerError)
			return
		}
		b, err := json.Marshal(n)
		if err != nil {
			http.Error(w, `{"error":"internal"}`, http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	})
	return r
}
