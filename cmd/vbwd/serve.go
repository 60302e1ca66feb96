package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/vbwd-platform/vbwd-engine/engine"
	"github.com/vbwd-platform/vbwd-engine/internal/auth"
	"github.com/vbwd-platform/vbwd-engine/internal/tracing"
	"github.com/vbwd-platform/vbwd-engine/pkgs"
)

type serveFlags struct {
	addr           string
	requestTimeout time.Duration
	maxBody        int64
	poolMin        int
	poolMax        int
	accessLog      bool
	noDB           bool
	populate       bool
	watch          bool
	demoTokens     bool
	server         engine.ServeOptions
	unsafeSharedDB bool
	memCeilingMB   int64
	memBudgetMB    int64
	maxResponse    int64
	issuerKey      string
	prof           profileFlags
}

func newServeCmd(g *globals) *cobra.Command {
	f := &serveFlags{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the enabled plugins over HTTP",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServe(cmd.Context(), cmd.OutOrStdout(), g, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.addr, "addr", envOr("VBWD_ADDR", "127.0.0.1:8080"), "address to listen on")
	fl.DurationVar(&f.requestTimeout, "request-timeout", 10*time.Second, "deadline of every Lua call")
	fl.Int64Var(&f.maxBody, "max-body", 1<<20, "request body limit in bytes")
	fl.IntVar(&f.poolMin, "pool-min", 2, "Lua states pre-warmed per plugin")
	fl.IntVar(&f.poolMax, "pool-max", 0, "Lua states at most per plugin (0: max(4, 2×CPUs))")
	fl.BoolVar(&f.accessLog, "access-log", true, "log one line per request")
	fl.BoolVar(&f.noDB, "no-db", false, "run without a database (plugins that need one fail)")
	fl.BoolVar(&f.demoTokens, "demo-tokens", false, "print API tokens for demo users (needs VBWD_JWT_SECRET; for development)")
	fl.BoolVar(&f.watch, "watch", false, "reload any plugin when its files change (without it: only plugins with \"debug_mode\": true)")
	fl.DurationVar(&f.server.ReadHeaderTimeout, "read-header-timeout", 10*time.Second, "deadline for reading a request's headers")
	fl.DurationVar(&f.server.ReadTimeout, "read-timeout", 60*time.Second, "deadline for reading a whole request, body included (event streams lift it)")
	fl.DurationVar(&f.server.IdleTimeout, "idle-timeout", 2*time.Minute, "how long an idle keep-alive connection stays open")
	fl.DurationVar(&f.server.DrainTimeout, "drain-timeout", 30*time.Second, "how long a retiring generation's in-flight calls may run before they are cancelled")
	fl.Int64Var(&f.memCeilingMB, "memory-ceiling-mb", envInt("VBWD_MEMORY_CEILING_MB"), "process memory ceiling in MiB: GC soft limit below it, the largest Lua calls cancelled above it (0: GOMEMLIMIT, else none)")
	fl.Int64Var(&f.memBudgetMB, "memory-budget-mb", 64, "what one Lua call may allocate, in MiB, unless the plugin's manifest sets memory_limit_mb")
	fl.Int64Var(&f.maxResponse, "max-response", 64<<20, "response body limit in bytes")
	fl.BoolVar(&f.populate, "populate", false, "load the enabled plugins' demo data (populate.lua) before serving")
	fl.BoolVar(&f.unsafeSharedDB, "unsafe-shared-db-role", false, "UNSAFE: when the database user may not create roles, run plugin SQL as that user "+
		"(with all its rights) instead of refusing it; also VBWD_UNSAFE_SHARED_DB_ROLE=1")
	fl.StringVar(&f.issuerKey, "issuer-key", os.Getenv("VBWD_ISSUER_KEY_FILE"), "the engine's Ed25519 token signing key (PKCS #8 PEM; made when absent); default <root>/.data/"+auth.KeyFileName+"; also VBWD_ISSUER_KEY_FILE")
	f.prof.add(cmd)
	return cmd
}

func runServe(ctx context.Context, out io.Writer, g *globals, f *serveFlags) error {
	log, sink, flush, err := g.logger(true)
	if err != nil {
		return err
	}
	defer flush()
	stopProf, err := f.prof.start(log)
	defer stopProf()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts := engine.Options{Root: g.root, Logger: log, RequestTimeout: f.requestTimeout,
		MaxBodyBytes: f.maxBody, PoolMin: f.poolMin, PoolMax: f.poolMax, AdminToken: os.Getenv("VBWD_ADMIN_TOKEN"), NodeID: os.Getenv("VBWD_NODE_ID"),
		JWTSecret: os.Getenv("VBWD_JWT_SECRET"), DrainTimeout: f.server.DrainTimeout, UnsafeSharedDBRole: f.unsafeSharedDB,
		MemoryCeiling: f.memCeilingMB << 20, MemoryBudget: f.memBudgetMB << 20, MaxResponseBytes: f.maxResponse,
		Packages: pkgs.Planner{}}
	opts.IssuerKeyFile = f.issuerKey
	if opts.IssuerKeyFile == "" {
		opts.IssuerKeyFile = filepath.Join(g.root, ".data", auth.KeyFileName)
	}
	if f.accessLog {
		opts.AccessLog, opts.AccessLogFormat = sink, strings.ToLower(g.logFormat)
	}
	// Traces when the OTEL_* variables ask for them (docs/ops.md, Tracing);
	// shut down after serving, which flushes the last spans.
	tp, err := tracing.FromEnv(ctx, buildVersion())
	if err != nil {
		return err
	}
	if tp != nil {
		opts.TracerProvider = tp
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := tp.Shutdown(sctx); err != nil {
				log.Warn("tracing: flushing the last spans failed", "err", err)
			}
		}()
		log.Info("tracing is on: spans are exported over OTLP")
	}
	if !f.noDB {
		db, closeDB, err := openDatabase(ctx, g.root, log)
		if err != nil {
			return err
		}
		defer closeDB()
		opts.DB = db
	}
	eng, err := engine.New(opts)
	if err != nil {
		return err
	}
	if err := eng.Start(ctx); err != nil {
		return err
	}
	if f.populate {
		if _, err := eng.Populate(ctx); err != nil {
			_ = eng.Shutdown(context.Background())
			return err
		}
	}
	if f.demoTokens {
		printDemoTokens(out, f.addr, opts.JWTSecret)
	}
	go func() {
		if err := eng.Watch(ctx, f.watch); err != nil {
			log.Warn("file watching is off", "err", err)
		}
	}()
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		_ = eng.Shutdown(context.Background())
		return err
	}
	return eng.Serve(ctx, ln, f.server)
}

// printDemoTokens mints tokens for a demo admin and two demo users, so the
// shipped plugins can be tried with curl right after make run.
func printDemoTokens(w io.Writer, addr, secret string) {
	if secret == "" {
		fmt.Fprintln(w, "demo tokens: set VBWD_JWT_SECRET to get them")
		return
	}
	fmt.Fprintln(w, "demo API tokens (valid 24h, signed with VBWD_JWT_SECRET):")
	// demo-admin is the shops' business admin; demo-ops is the engine's
	// (the root config.json grants vbwd-admin the admin.* permissions).
	for _, u := range []struct{ id, roles string }{{"demo-admin", "admin"}, {"demo-ops", "vbwd-admin"},
		{"demo-alice", "subscriber"}, {"demo-bob", "subscriber"}} {
		roles := strings.Split(u.roles, ",")
		tok, err := auth.Mint(secret, u.id, roles, 24*time.Hour, time.Now())
		if err != nil {
			fmt.Fprintln(w, "demo tokens:", err)
			return
		}
		fmt.Fprintf(w, "  %-11s (%s): %s\n", u.id, u.roles, tok)
	}
	fmt.Fprintf(w, "try: curl -H \"Authorization: Bearer <token>\" http://%s/api/v1/subscription/me\n", addr)
	fmt.Fprintf(w, "engine admin (demo-ops, or VBWD_ADMIN_TOKEN): curl -H \"Authorization: Bearer <token>\" http://%s/admin/plugins\n", addr)
}
