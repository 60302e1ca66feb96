package engine

import (
	"crypto/ed25519"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/vbwd-platform/vbwd-engine/hostapi"
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
	// Packages resolves the admin API's package installs (engine/pkgapply);
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
