package engine

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/vbwd-platform/vbwd-engine/engine/cluster"
	"github.com/vbwd-platform/vbwd-engine/engine/luavm"
	"github.com/vbwd-platform/vbwd-engine/engine/plugindb"
	"github.com/vbwd-platform/vbwd-engine/engine/spec"
	"github.com/vbwd-platform/vbwd-engine/engine/web"
	"github.com/vbwd-platform/vbwd-engine/hostapi"
	"github.com/vbwd-platform/vbwd-engine/internal/auth"
	"github.com/vbwd-platform/vbwd-engine/internal/ratelimit"
	"github.com/vbwd-platform/vbwd-engine/internal/tracing"
	"go.opentelemetry.io/otel/trace"
)

// Options configures an Engine. Zero values take the documented defaults.
type Options struct {
	// Root holds plugins/, plugins.json and config.json. Default ".".
	Root string
	// Logger receives engine, plugin and access logs. Default slog.Default().
	Logger *slog.Logger
	// DB is the shared PostgreSQL pool, if any. /readyz pings it.
	DB *pgxpool.Pool
	// RequestTimeout bounds every Lua call (request, build hook). Default 10s.
	RequestTimeout time.Duration
	// MaxBodyBytes bounds request bodies. Default 1 MiB.
	MaxBodyBytes int64
	// PoolMin states are built (pre-warmed) per generation. Default 2.
	PoolMin int
	// PoolMax bounds the states of one generation. Default max(4, 2×GOMAXPROCS).
	PoolMax int
	// AccessLog receives one line per request (nil: no access log). Give it
	// a buffered writer (internal/logsink): it is written on every request.
	AccessLog io.Writer
	// AccessLogFormat is "text" (slog's text shape, the default) or "json".
	AccessLogFormat string
	// Modules are the host modules offered to plugins. Default DefaultModules.
	Modules []hostapi.Factory
	// NodeID names this engine among several sharing one database.
	// Default: hostname-pid-random.
	NodeID string
	// AdminToken turns the /admin API on: requests must carry
	// Authorization: Bearer <AdminToken>. Empty: the admin API is off.
	AdminToken string
	// JWTSecret verifies HS256 API tokens (VBWD_JWT_SECRET). A JWT may use
	// the admin API when config.json grants one of its roles admin.*
	// permissions (vbwd.roles); no role name is special.
	JWTSecret string
	// IssuerKey signs the tokens plugins issue (vbwd.auth.issue) and is
	// published at /.well-known/jwks.json; or IssuerKeyFile names the PKCS #8
	// PEM file holding it, made there when absent (vbwd serve:
	// <root>/.data/issuer-ed25519.pem). Neither: the engine issues no tokens.
	IssuerKey     ed25519.PrivateKey
	IssuerKeyFile string
	// Enabled, when non-nil, replaces plugins.json: exactly these plugins
	// are enabled (the test runner enables a plugin and its dependencies).
	Enabled []string
	// EventHook, when set, sees every event emitted or published (the test
	// runner's expect_event). It must not block.
	EventHook func(EventSeen)
	// Clock is the time of vbwd.time and vbwd.shared TTLs. Default time.Now;
	// the test runner controls it.
	Clock func() time.Time
	// HTTPTransport, when set, carries vbwd.http's requests instead of the
	// shared egress transport (the test runner's stubs); the allow-list is
	// still checked on every URL and redirect.
	HTTPTransport http.RoundTripper
	// ExtraModules are offered in addition to Modules (or the defaults).
	ExtraModules []hostapi.Factory
	// Packages resolves the admin API's package installs (packages.go);
	// pkgs.Planner is the one vbwd serve wires. Nil: those answer 501.
	Packages PackagePlanner
	// Events configures the delivery of durable events (outbox.go).
	Events EventOptions
	// ManualJobs starts no scheduler loop: ctx:every jobs run only when
	// AdvanceJobs is called (the test runner, on t.time.advance).
	ManualJobs bool
	// DrainTimeout bounds the retirement of a generation (disable, reload,
	// shutdown): in-flight calls get this long to finish, then they are
	// cancelled and on_disable runs anyway. Default 30s.
	DrainTimeout time.Duration
	// DBRoleSecret derives the passwords of the plugins' database roles
	// (engine/plugindb/dbroles.go). Default VBWD_DB_ROLE_SECRET, else the password of DB.
	DBRoleSecret string
	// UnsafeSharedDBRole runs plugin SQL as DB's own user when that user
	// may not create roles (default VBWD_UNSAFE_SHARED_DB_ROLE=1); otherwise
	// plugin SQL is refused then.
	UnsafeSharedDBRole bool
	// MemoryBudget is what one Lua call may allocate when the plugin's
	// manifest sets no memory_limit_mb (engine/luavm/memory.go). Default 64 MiB.
	MemoryBudget int64
	// MemoryCeiling is the process's memory ceiling: the Go soft limit is
	// set below it and a watchdog cancels the largest calls above it.
	// 0: GOMEMLIMIT when set, else none.
	MemoryCeiling int64
	// MaxResponseBytes bounds a response body. Default 64 MiB.
	MaxResponseBytes int64
	// TracerProvider turns traces on (web/tracing.go); nil: off.
	TracerProvider trace.TracerProvider
}

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
	opts    Options
	log     *slog.Logger
	access  *web.AccessLog // nil when off
	migr    *Migrator      // nil without a database
	root    *rootHandler
	admin   http.Handler
	snap    atomic.Pointer[snapshot]   // what serves: router, registrations, generations
	index   indexView                  // e.index.Load(): the current snapshot's registrations
	sched   *scheduler                 // set by startScheduler
	view    atomic.Pointer[pluginView] // the records, for lock-free status readers
	jwt     *auth.Verifier             // every kind of bearer token (identity.go)
	proxies ratelimit.Proxies          // trusted reverse proxies, for the client address
	rate    *ratelimit.Limiter         // route rate limits (ratelimit.go)
	metrics *web.Metrics
	modules []hostapi.Factory
	shared  sharedStore
	goSvcs  atomic.Pointer[goServiceMap] // Go services by name (Provide, services.go)
	// streamKey signs stream notifications between engines (streamkey.go).
	streamKey []byte
	tracer    trace.Tracer // nil when tracing is off (web/tracing.go)
	// tickets records used stream tickets without a database; with one they
	// go to vbwd.stream_tickets (web/streamticket.go).
	tickets web.UsedTickets

	mu      sync.Mutex // serialises lifecycle changes; requests, status and drains never take it
	plugins map[string]*plugin
	loaded  bool
	started bool
	stopped bool
	closing atomic.Bool   // set at Shutdown: unmatched requests answer 503
	quit    chan struct{} // closed at Shutdown: stops background loops
	broker  *web.Broker   // server-sent event subscribers
	// streamsDone is closed when shutdown begins: event streams end first.
	streamsDone chan struct{}
	streamsOnce sync.Once
	retiring    sync.WaitGroup // generations being retired and loops running in the background
	up          atomic.Bool    // started and not shut down (for /readyz, without e.mu)
	packages    packageState   // cluster package installs (packages.go)
	ops         opsState       // recent Lua errors and the OpenAPI document (apidoc.go)

	cluster *cluster.Cluster // the cluster's change log and this node's report (engine/cluster)
}

// plugin is the engine's record of one plugin directory.
type plugin struct {
	name     string
	src      *luavm.Source
	manifest *Manifest
	state    LifecycleState
	err      error
	gen      *Generation
	genSeq   int64
	wanted   bool // enabled in plugins.json, or asked to be
	outdated bool // the last attempt (err) failed: gen is older than the files
}

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
	e := &Engine{opts: opts, log: opts.Logger, plugins: map[string]*plugin{}, quit: make(chan struct{}),
		broker: web.NewBroker(), streamsDone: make(chan struct{})}
	e.shared = newSharedStore(opts.Clock)
	if opts.TracerProvider != nil {
		e.tracer = opts.TracerProvider.Tracer(tracing.Scope)
	}
	if opts.DB != nil {
		if e.migr, err = plugindb.NewMigrator(opts.DB, abs, opts.Logger); err != nil {
			return nil, err
		}
		e.migr.UseRoles(opts.DBRoleSecret, opts.UnsafeSharedDBRole, opts.PoolMax)
		e.migr.SetLookup(e.dbLookup)
	}
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
	e.root = newRootHandler(e)
	e.cluster = cluster.New(clusterHost{e}, cluster.Config{DB: opts.DB, NodeID: opts.NodeID, Root: opts.Root}, e.log)
	e.admin = e.adminRouter()
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
	names, err := e.discover(ctx)
	if err != nil {
		return err
	}
	if !exists {
		e.log.Warn("no plugins.json: enabling every discovered plugin", "plugins", names)
	}
	for _, n := range names {
		e.plugins[n].wanted = !exists || pf.Plugins[n].Enabled
	}
	if e.opts.Enabled != nil {
		for _, n := range names {
			e.plugins[n].wanted = false
		}
		for _, n := range e.opts.Enabled {
			if p, ok := e.plugins[n]; ok {
				p.wanted = true
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
	e.startStreams()
	if err := e.startScheduler(ctx); err != nil {
		return err
	}
	if err := e.startEvents(ctx); err != nil {
		return err
	}
	if err := e.startCluster(ctx); err != nil {
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
	nodes := make(map[string]spec.GraphNode, len(e.plugins))
	for n, p := range e.plugins {
		nodes[n] = spec.GraphNode{Manifest: p.manifest, Enabled: p.wanted, Failed: p.state == StateFailed}
	}
	order, failures := spec.OrderPlugins(nodes)
	var ok []string
	for _, n := range order {
		if e.plugins[n].state != StateFailed {
			ok = append(ok, n)
		} else if failures[n] == nil {
			failures[n] = e.plugins[n].err
		}
	}
	return ok, failures
}

// Requires lists a plugin and every plugin it depends on, directly or not,
// by name (from the manifests; call Load first).
func (e *Engine) Requires(name string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	seen := map[string]bool{}
	var walk func(n string)
	walk = func(n string) {
		if seen[n] {
			return
		}
		seen[n] = true
		if p := e.plugins[n]; p != nil && p.manifest != nil {
			for _, d := range p.manifest.Dependencies {
				walk(d.Name)
			}
		}
	}
	walk(name)
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// WantedDependents lists the plugins enabled in plugins.json that depend on
// name, directly or not. Call Load first.
func (e *Engine) WantedDependents(name string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return dependentsWhere(e.plugins, name, func(p *plugin) bool { return p.wanted })
}

// discover scans plugins/ and loads every plugin's source and manifest.
func (e *Engine) discover(ctx context.Context) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(e.opts.Root, "plugins"))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, ent := range entries {
		if !ent.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(e.opts.Root, "plugins", ent.Name(), "init.lua")); err != nil {
			continue
		}
		names = append(names, ent.Name())
		e.plugins[ent.Name()] = e.loadPlugin(ctx, ent.Name())
	}
	sort.Strings(names)
	return names, nil
}

// loadPlugin compiles a plugin's source and reads its manifest.
func (e *Engine) loadPlugin(ctx context.Context, name string) *plugin {
	p := &plugin{name: name, state: StateDiscovered}
	if old := e.plugins[name]; old != nil {
		p.genSeq, p.wanted = old.genSeq, old.wanted
	}
	src, err := luavm.LoadSource(e.opts.Root, name)
	if err == nil {
		p.manifest, err = e.readManifest(ctx, src)
	}
	if err != nil {
		p.fail(err)
		e.log.Error("plugin failed to load", "plugin", name, "err", err)
		return p
	}
	p.src = src
	return p
}

// readManifest runs a plugin's init.lua in a throwaway state (build phase,
// bounded by the request timeout) and reads its manifest.
func (e *Engine) readManifest(ctx context.Context, src *luavm.Source) (*Manifest, error) {
	ctx, cancel := context.WithTimeout(hostapi.WithBuildPhase(ctx), e.opts.RequestTimeout)
	defer cancel()
	env := e.newEnv(src, 0)
	return spec.ReadManifest(ctx, src, env.modules, env.logger, e.opts.MemoryBudget)
}

func (p *plugin) fail(err error) {
	p.state, p.err = StateFailed, err
}

// newEnv binds the host modules to one plugin generation.
func (e *Engine) newEnv(src *luavm.Source, gen int64) *stateEnv {
	logger := e.log.With("plugin", src.Name, "gen", gen)
	info := hostapi.Plugin{Name: src.Name, Generation: gen, Dir: src.Dir, Logger: logger}
	mods := make(map[string]hostapi.Module, len(e.modules))
	for _, f := range e.modules {
		m := f(info)
		mods[m.Name()] = m
	}
	return &stateEnv{modules: mods, logger: logger}
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
