package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vbwd-platform/vbwd-engine/engine/builder"
	"github.com/vbwd-platform/vbwd-engine/engine/cluster"
	"github.com/vbwd-platform/vbwd-engine/engine/endpoints"
	"github.com/vbwd-platform/vbwd-engine/engine/gen"
	"github.com/vbwd-platform/vbwd-engine/engine/luavm"
	"github.com/vbwd-platform/vbwd-engine/engine/pgcoord"
	"github.com/vbwd-platform/vbwd-engine/engine/pkgapply"
	"github.com/vbwd-platform/vbwd-engine/engine/plugindb"
	"github.com/vbwd-platform/vbwd-engine/engine/records"
	"github.com/vbwd-platform/vbwd-engine/engine/relay"
	"github.com/vbwd-platform/vbwd-engine/engine/serve"
	"github.com/vbwd-platform/vbwd-engine/engine/spec"
	"github.com/vbwd-platform/vbwd-engine/engine/streamauth"
	"github.com/vbwd-platform/vbwd-engine/engine/web"
	"github.com/vbwd-platform/vbwd-engine/hostapi"
	"github.com/vbwd-platform/vbwd-engine/internal/auth"
	"github.com/vbwd-platform/vbwd-engine/internal/ratelimit"
	"github.com/vbwd-platform/vbwd-engine/internal/tracing"
	"go.opentelemetry.io/otel/trace"
)

func (o *Options) setDefaults() {
	if o.Root == "" {
		o.Root = "."
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 10 * time.Second
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 1 << 20
	}
	if o.MemoryBudget <= 0 {
		o.MemoryBudget = DefaultMemoryBudget
	}
	if o.MaxResponseBytes <= 0 {
		o.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if o.PoolMax <= 0 {
		o.PoolMax = max(4, 2*runtime.GOMAXPROCS(0))
	}
	if o.NodeID == "" {
		o.NodeID = defaultNodeID()
	}
	if o.PoolMin <= 0 {
		o.PoolMin = 2
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = 30 * time.Second
	}
	o.PoolMin = min(o.PoolMin, o.PoolMax)
	if o.DBRoleSecret == "" {
		o.DBRoleSecret = os.Getenv("VBWD_DB_ROLE_SECRET")
	}
	if v := os.Getenv("VBWD_UNSAFE_SHARED_DB_ROLE"); v == "1" || v == "true" {
		o.UnsafeSharedDBRole = true
	}
}

// Engine discovers, orders, builds and serves plugins.
type Engine struct {
	opts       Options
	log        *slog.Logger
	access     *web.AccessLog // nil when off
	migr       *Migrator      // nil without a database
	root       *rootHandler
	admin      http.Handler
	endpoints  endpoints.Endpoints         // the engine's own endpoints in every snapshot's router
	snap       atomic.Pointer[snapshot]    // what serves: router, registrations, generations
	index      indexView                   // e.index.Load(): the current snapshot's registrations
	sched      *scheduler                  // set by startScheduler
	view       atomic.Pointer[records.Set] // a copy of the records, for lock-free status readers
	jwt        *auth.Verifier              // every kind of bearer token (engine/identity)
	proxies    ratelimit.Proxies           // trusted reverse proxies, for the client address
	rate       *ratelimit.Limiter          // route rate limits (engine/identity)
	metrics    *web.Metrics
	serve      *serve.Server // the plugin routes' request surface (servehost.go)
	modules    []hostapi.Factory
	shared     sharedStore
	listening  pgcoord.InPlace              // LISTEN loops in place (readiness)
	goSvcs     atomic.Pointer[goServiceMap] // Go services by name (Provide, bushost.go)
	tracer     trace.Tracer                 // nil when tracing is off (web/tracing.go)
	wakeEvents atomic.Pointer[func()]       // wakes a delivery worker after a publish commits (outboxhost.go)
	// tickets records used stream tickets without a database; with one they
	// go to vbwd.stream_tickets (web/streamticket.go).
	tickets web.UsedTickets
	streams streamauth.Tickets // issues and checks stream tickets (streamauthhost.go)

	mu       sync.Mutex // serialises lifecycle changes; requests, status and drains never take it
	plugins  records.Set
	loader   records.Loader // reads plugin directories into records
	loaded   bool
	started  bool
	stopped  bool
	closing  atomic.Bool      // set at Shutdown: unmatched requests answer 503
	quit     chan struct{}    // closed at Shutdown: stops background loops
	broker   *web.Broker      // server-sent event subscribers
	relay    *relay.Relay     // stream events between engines; ends the streams at shutdown
	retiring sync.WaitGroup   // generations being retired and loops running in the background
	up       atomic.Bool      // started and not shut down (for /readyz, without e.mu)
	packages packageState     // cluster package installs (engine/pkgapply)
	pkg      pkgapply.Applier // applies them (pkgapplyhost.go)
	ops      opsState         // recent Lua errors and the OpenAPI document (engine/apidoc)
	build    *builder.Builder // builds and retires generations (engine/builder)

	cluster *cluster.Cluster // the cluster's change log and this node's report (engine/cluster)
}

// plugin is the engine's record of one plugin directory (engine/records).
type plugin = records.Plugin

// New allocates an engine; Start loads the plugins.
func New(opts Options) (*Engine, error) {
	opts.setDefaults()
	abs, err := filepath.Abs(opts.Root)
	if err != nil {
		return nil, fmt.Errorf("root %q: %w", opts.Root, err)
	}
	if st, err := os.Stat(filepath.Join(abs, "plugins")); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("root %s has no plugins/ directory", abs)
	}
	opts.Root = abs
	e := &Engine{opts: opts, log: opts.Logger, plugins: records.Set{}, quit: make(chan struct{}),
		broker: web.NewBroker()}
	e.shared = newSharedStore(opts.Clock)
	if opts.TracerProvider != nil {
		e.tracer = opts.TracerProvider.Tracer(tracing.Scope)
	}
	if opts.DB != nil {
		if e.migr, err = plugindb.NewMigrator(opts.DB, abs, opts.Logger); err != nil {
			return nil, err
		}
		e.migr.UseRoles(opts.DBRoleSecret, opts.UnsafeSharedDBRole, opts.PoolMax)
		e.migr.SetLookup(e.plugins.DBLookup) // callers hold e.mu (or run before Start)
	}
	e.relay = relay.New(relay.Config{DB: opts.DB, Broker: e.broker, Locked: e.migr.Locked, InPlace: &e.listening,
		Log: e.log, Quit: e.quit, Group: &e.retiring})
	if opts.AccessLog != nil {
		e.access = web.NewAccessLog(opts.AccessLog, opts.AccessLogFormat)
	}
	e.modules = opts.Modules
	if e.modules == nil {
		e.modules = e.DefaultModules()
	}
	e.modules = append(e.modules[:len(e.modules):len(e.modules)], opts.ExtraModules...)
	e.metrics = web.NewMetrics(metricsHost{e})
	if err := e.setupIdentity(); err != nil {
		return nil, err
	}
	e.setupServe()
	e.setupStreamAuth()
	e.build = &builder.Builder{Root: abs, Modules: e.modules, Log: e.log,
		DrainTimeout: opts.DrainTimeout, DB: opts.DB, Migr: e.migr, Lookup: e.plugins.DBLookup,
		Routes: e.serve, Metrics: e.metrics, Clock: opts.Clock,
		// the options a generation is built and called with
		Limits: gen.Limits{PoolMin: opts.PoolMin, PoolMax: opts.PoolMax, MemoryBudget: opts.MemoryBudget,
			RequestTimeout: opts.RequestTimeout, MaxResponseBytes: opts.MaxResponseBytes}}
	e.loader = records.Loader{Root: abs, ReadManifest: e.build.ReadManifest, Log: e.log}
	e.root = newRootHandler(e)
	e.setupCluster()
	e.setupPackages()
	e.admin = e.adminRouter()
	e.setupEndpoints()
	if opts.AdminToken == "" && opts.JWTSecret == "" {
		e.log.Info(adminOffMessage)
	}
	e.index = indexView{e}
	snap, err := e.buildSnapshot(nil, nil)
	if err != nil {
		return nil, err
	}
	e.snap.Store(snap)
	e.publishView()
	return e, nil
}

// Handler is the engine's HTTP handler; it always serves the current router.
func (e *Engine) Handler() http.Handler { return e.root }

// Migrator runs the plugins' migrations; nil when the engine has no database.
func (e *Engine) Migrator() *Migrator { return e.migr }

// Root is the absolute root directory.
func (e *Engine) Root() string { return e.opts.Root }

// Load discovers the plugins and reads plugins.json and config.json without
// building anything: enough for the CLI to order plugins or run their
// migrations. It fails only for a bad plugins.json or config.json. Start
// calls it when it has not run.
func (e *Engine) Load(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	defer e.publishView()
	return e.load(ctx)
}

func (e *Engine) load(ctx context.Context) error {
	if e.loaded {
		return nil
	}
	pf, exists, err := spec.ReadPluginsFile(e.opts.Root)
	if err != nil {
		return err
	}
	if _, err := spec.ReadRootConfig(e.opts.Root); err != nil {
		return err
	}
	names, err := e.loader.Discover(ctx, e.plugins)
	if err != nil {
		return err
	}
	if !exists {
		e.log.Warn("no plugins.json: enabling every discovered plugin", "plugins", names)
	}
	for _, n := range names {
		e.plugins[n].Wanted = !exists || pf.Plugins[n].Enabled
	}
	if e.opts.Enabled != nil {
		for _, n := range names {
			e.plugins[n].Wanted = false
		}
		for _, n := range e.opts.Enabled {
			if p, ok := e.plugins[n]; ok {
				p.Wanted = true
			}
		}
	}
	for n := range pf.Plugins {
		if _, ok := e.plugins[n]; !ok {
			e.log.Warn("plugins.json names a plugin that is not installed", "plugin", n)
		}
	}
	e.loaded = true
	return nil
}

// Start loads the plugins (see Load), then builds and enables the enabled
// ones in dependency order — applying their pending migrations first — and
// serves them. A failing plugin is left failed with its error; the others
// start.
func (e *Engine) Start(ctx context.Context) (err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	defer e.publishView()
	if e.started {
		return errors.New("engine already started")
	}
	if err := e.load(ctx); err != nil {
		return err
	}
	rootCfg, err := spec.ReadRootConfig(e.opts.Root)
	if err != nil {
		return err
	}
	if err := e.migrateEngine(ctx); err != nil {
		return err
	}
	e.started = true
	defer func() {
		if err != nil {
			e.abortStart() // a failed start stops everything it started
		}
	}()
	e.retiring.Add(1)
	go e.sweepShared(30 * time.Second)
	luavm.StartWatchdog(e.opts.MemoryCeiling, e.log, e.quit)
	if _, err := e.reconcile(ctx, reconcileReq{rootCfg: rootCfg}); err != nil {
		return err
	}
	e.relay.Start()
	e.relay.Await(ctx, 5*time.Second)
	if err := e.startScheduler(ctx); err != nil {
		return err
	}
	if err := e.startEvents(ctx); err != nil {
		return err
	}
	if err := e.cluster.Start(ctx); err != nil {
		return err
	}
	e.up.Store(true)
	return nil
}

// Order lists the plugins enabled in plugins.json in dependency order, and
// why the others among them cannot be enabled. Call Load first.
func (e *Engine) Order() ([]string, map[string]error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.plugins.Order()
}

// Requires lists a plugin and every plugin it depends on, directly or not,
// by name (from the manifests; call Load first).
func (e *Engine) Requires(name string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.plugins.Requires(name)
}

// WantedDependents lists the plugins enabled in plugins.json that depend on
// name, directly or not. Call Load first.
func (e *Engine) WantedDependents(name string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.plugins.WantedDependents(name)
}

// sweepShared removes expired vbwd.shared entries every interval.
func (e *Engine) sweepShared(interval time.Duration) {
	defer e.retiring.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			e.shared.Sweep()
		case <-e.quit:
			return
		}
	}
}
