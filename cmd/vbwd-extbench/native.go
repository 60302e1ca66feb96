package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/vbwd-platform/vbwd-engine/engine/web"
	"github.com/vbwd-platform/vbwd-engine/internal/auth"
	"github.com/vbwd-platform/vbwd-engine/internal/logsink"
)

// nativeEnv, when set in the environment, makes this program the native
// reference server instead of the harness: it listens on the address in
// its value. The harness re-executes itself with it, so both servers are
// separate processes whose CPU time /proc reports apart.
const nativeEnv = "VBWD_EXTBENCH_NATIVE_ADDR"

// nativePprofEnv, with nativeEnv, also serves /debug/pprof/ on the address
// in its value (for profiling the reference beside `vbwd serve --pprof`).
const nativePprofEnv = "VBWD_EXTBENCH_NATIVE_PPROF"

func pprofMux() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("/debug/pprof/", pprof.Index)
	m.HandleFunc("/debug/pprof/profile", pprof.Profile)
	return m
}

// The routes of the bench plugin (root.go) as plain Go: chi, encoding/json,
// pgx, the same access log lines (engine/web.AccessLog through a buffered
// sink to stderr) and the same JWT verifier.
func nativeMain(addr string) error {
	ctx := context.Background()
	var pool *pgxpool.Pool
	if url := os.Getenv("DATABASE_URL"); url != "" {
		var err error
		if pool, err = pgxpool.New(ctx, url); err != nil {
			return err
		}
		defer pool.Close()
		if _, err := pool.Exec(ctx, `create schema if not exists extbench_native;
			create table if not exists extbench_native.outbox (id bigserial primary key, name text not null,
			  payload jsonb not null, created_at timestamptz not null default now())`); err != nil {
			return err
		}
	}
	sink := logsink.NewBuffered(os.Stderr, 100*time.Millisecond)
	defer sink.Close()
	access := web.NewAccessLog(sink, "text")
	if pp := os.Getenv(nativePprofEnv); pp != "" {
		// The same profile listener `vbwd serve --pprof` has, so the two
		// servers' profiles under the same load can be compared.
		go func() { _ = http.ListenAndServe(pp, pprofMux()) }()
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: nativeHandler(pool, access, os.Getenv("VBWD_JWT_SECRET")), ReadHeaderTimeout: 10 * time.Second}
	return srv.Serve(ln)
}

// service is what the DI route resolves by name on every request, as the
// engine's registry does.
type service interface{ Double(int) int }

type doubler struct{}

func (doubler) Double(n int) int { return 2 * n }

var services = map[string]service{"benchsvc.math": doubler{}}

func nativeHandler(pool *pgxpool.Pool, access *web.AccessLog, secret string) http.Handler {
	verifier := auth.NewVerifier(secret)
	r := chi.NewRouter()
	r.Get("/bench/hello/{name}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, struct {
			Hello string `json:"hello"`
			N     int    `json:"n"`
			List  []int  `json:"list"`
		}{chi.URLParam(r, "name"), 42, []int{1, 2, 3}})
	})
	r.Get("/bench/items/{id}", func(w http.ResponseWriter, r *http.Request) {
		var it struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
			Qty  int    `json:"qty"`
		}
		id, _ := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
		err := pool.QueryRow(r.Context(), "select id, name, qty from bench.bench_items where id = $1", id).Scan(&it.ID, &it.Name, &it.Qty)
		if errors.Is(err, pgx.ErrNoRows) {
			writeJSON(w, 404, map[string]string{"error": "no such item"})
			return
		}
		if err != nil {
			writeJSON(w, 500, map[string]string{"error": "internal"})
			return
		}
		writeJSON(w, 200, it)
	})
	r.Post("/bench/items", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Name string `json:"name"`
			Qty  int    `json:"qty"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			writeJSON(w, 400, map[string]string{"error": err.Error()})
			return
		}
		var id int64
		err := pgx.BeginFunc(r.Context(), pool, func(tx pgx.Tx) error {
			if err := tx.QueryRow(r.Context(), "insert into bench.bench_items (name, qty) values ($1, $2) returning id",
				body.Name, body.Qty).Scan(&id); err != nil {
				return err
			}
			payload, _ := json.Marshal(map[string]any{"id": id, "name": body.Name})
			_, err := tx.Exec(r.Context(), "insert into extbench_native.outbox (name, payload) values ($1, $2)", "bench.item_created", payload)
			return err
		})
		if err != nil {
			writeJSON(w, 500, map[string]string{"error": "internal"})
			return
		}
		writeJSON(w, 201, map[string]int64{"id": id})
	})
	r.Get("/bench/svc/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(chi.URLParam(r, "n"))
		writeJSON(w, 200, map[string]int{"result": services["benchsvc.math"].Double(n)})
	})
	r.Get("/bench/secure", func(w http.ResponseWriter, r *http.Request) {
		u, err := verifier.FromHeader(r.Header.Get("Authorization"))
		if err != nil {
			writeJSON(w, 401, map[string]string{"error": "unauthorized"})
			return
		}
		if !slices.Contains(u.Roles, "reader") {
			writeJSON(w, 403, map[string]string{"error": "forbidden"})
			return
		}
		writeJSON(w, 200, map[string]string{"user": u.ID})
	})
	return logged(r, access)
}

// logged writes one access line per request, as the engine does.
func logged(h http.Handler, access *web.AccessLog) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rw := &web.RespWriter{ResponseWriter: w, Start: start}
		h.ServeHTTP(rw, r)
		access.Write(r, rw, time.Since(start))
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, fmt.Sprint(err), 500)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
