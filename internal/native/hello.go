// Package native holds the benchmark baselines: shipped plugins' routes
// written as native Go handlers (chi, pgx, encoding/json).
package native

import (
	"encoding/json"
	"net/http"

	"github.com/go-chi/chi/v5"
)

// Hello is the hello plugin's GET /api/v1/hello/{name} written as a
// native Go chi handler with encoding/json: the baseline the benchmarks
// compare the Lua route against.
func Hello() http.Handler {
	r := chi.NewRouter()
	r.Get("/api/v1/hello/{name}", func(w http.ResponseWriter, r *http.Request) {
		b, err := json.Marshal(map[string]string{"message": "Hello, " + chi.URLParam(r, "name") + "!"})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	})
	return r
}
