package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vbwd-platform/vbwd-engine/internal/pgdev"
)

// openDatabase connects to DATABASE_URL, or, when it is unset, to the
// embedded default: a local PostgreSQL cluster under <root>/.data/postgres.
// The returned stop function closes the pool and stops a cluster this
// process started. While ctx lives, that cluster is supervised: when its
// postmaster dies it is launched again with the same options and port.
func openDatabase(ctx context.Context, root string, log *slog.Logger) (*pgxpool.Pool, func(), error) {
	// Never make a .data/ cluster somewhere that is not an engine root.
	if st, err := os.Stat(filepath.Join(root, "plugins")); err != nil || !st.IsDir() {
		abs, _ := filepath.Abs(root)
		return nil, nil, fmt.Errorf("root %s has no plugins/ directory", abs)
	}
	url := os.Getenv("DATABASE_URL")
	var cluster *pgdev.Cluster
	if url == "" {
		abs, err := filepath.Abs(root)
		if err != nil {
			return nil, nil, err
		}
		log.Info("DATABASE_URL is not set: starting the embedded PostgreSQL", "dir", filepath.Join(abs, ".data", "postgres"))
		cluster, err = pgdev.Start(ctx, pgdev.Options{DataDir: filepath.Join(abs, ".data", "postgres"), Logger: log, Durable: true})
		if err != nil {
			return nil, nil, fmt.Errorf("embedded database: %w", err)
		}
		url = cluster.URL()
		log.Info("embedded PostgreSQL ready", "url", url, "dir", cluster.DataDir())
		cluster.Supervise(ctx) // restarted (same port, same options) if it dies; the pool reconnects
	}
	cfg, err := poolConfig(url)
	if err != nil {
		return nil, nil, fmt.Errorf("database: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err == nil {
		err = pool.Ping(ctx)
	}
	stop := func() {
		if pool != nil {
			pool.Close()
		}
		if cluster != nil {
			if err := cluster.Stop(context.Background()); err != nil {
				log.Error("stopping the embedded PostgreSQL", "err", err)
			}
		}
	}
	if err != nil {
		stop()
		return nil, nil, fmt.Errorf("database: %w", err)
	}
	return pool, stop, nil
}

// stmtCacheCapacity is the prepared statements a connection keeps (pgx's
// default is 512). Each connection preallocates its caches' maps, and the
// engine holds one pool per plugin: at 512 the two caches held about 30
// KiB of every open connection, the largest part of the engine's idle heap.
// A plugin that runs more distinct statements than this re-prepares the
// least recently used ones.
const stmtCacheCapacity = 128

// poolConfig is url's pool configuration, with smaller per-connection
// statement caches unless url sets them (statement_cache_capacity,
// description_cache_capacity). The description cache serves only the
// cache_describe exec mode: in the default mode it is never read, so it is
// not made.
func poolConfig(url string) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	cc := cfg.ConnConfig
	if !strings.Contains(url, "statement_cache_capacity") {
		cc.StatementCacheCapacity = stmtCacheCapacity
	}
	if !strings.Contains(url, "description_cache_capacity") && cc.DefaultQueryExecMode == pgx.QueryExecModeCacheStatement {
		cc.DescriptionCacheCapacity = 0
	}
	return cfg, nil
}
