package admin

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vbwd-platform/vbwd-engine/hostapi"
	"github.com/vbwd-platform/vbwd-engine/internal/auth"
)

// Host is what the admin API needs of the engine: values and functions the
// engine fills once, at New (engine/adminhost.go); this package never
// imports engine.
type Host struct {
	Plugins func() []PluginStatus
	Plugin  func(name string) (PluginStatus, bool)
	// Nodes lists what every node sharing the database runs of plugin.
	Nodes func(ctx context.Context, plugin string) ([]NodeStatus, error)
	// ApplyAdmin applies an admin action (reload, rescan, enable, disable,
	// config) in the cluster's order and returns the action's own result
	// (a ReloadResult for reload and config).
	ApplyAdmin func(ctx context.Context, action, plugin string, payload any) (any, error)
	// Config returns a plugin's root config.json override and its merged config.
	Config func(name string) (override, merged map[string]any, err error)
	// Readiness is /readyz's verdict, its reasons and the database error.
	Readiness func(ctx context.Context) (bool, []string, error)
	// AnyAdminGrant: some role holds an engine (admin.*) permission.
	AnyAdminGrant func() bool
	// AllowsAdmin: u's roles hold the engine permission perm.
	AllowsAdmin func(u *hostapi.User, perm string) bool
	// Check: u holds the plugin permission perm.
	Check func(u *hostapi.User, perm string) bool
	// Exchangers lists the serving exchangers; Exchanger resolves one.
	Exchangers func() []ExchangerSpec
	Exchanger  func(key string) (Exchanger, bool)
	// RouteCatalog is GET /admin/routes and Packages POST
	// /admin/packages/{action}: answered by the engine, which holds what they
	// read (the serving snapshot, the package planner).
	RouteCatalog http.HandlerFunc
	Packages     http.HandlerFunc
	// Recent keeps the last Lua errors of each plugin (GET
	// /admin/plugins/{name}/errors).
	Recent *RecentErrors
	// HealNote says how a plugin whose hash differs between nodes heals, or
	// why it cannot ("" when nothing is to say).
	HealNote func(ctx context.Context, name string) string
}

// Exchanger is one serving data exchanger (ctx:exchanger): its declaration
// and the calls into the plugin that declared it.
type Exchanger interface {
	Spec() ExchangerSpec
	// Export returns up to limit rows from offset; fewer ends the export.
	Export(ctx context.Context, offset, limit int) ([]map[string]any, error)
	// Import runs the plugin's import in one transaction, committed only
	// when nothing failed and res is not a dry run; it fills res.
	Import(ctx context.Context, rows []map[string]any, res *ImportResult) error
}

// Options are the engine options the admin API reads.
type Options struct {
	AdminToken   string
	NodeID       string
	Root         string
	MaxBodyBytes int64
	DB           *pgxpool.Pool // nil without a database
}

// API serves /admin.
type API struct {
	Host
	opts Options
	jwt  *auth.Verifier
	log  *slog.Logger
}

// outboxDBTimeout bounds the parked-events queries, as the outbox bounds its own.
const outboxDBTimeout = 10 * time.Second

// New builds the /admin handler. It is built once and mounted in every
// router; while nobody can use it, it answers 404 saying how to turn it on.
func New(host Host, opts Options, jwt *auth.Verifier, log *slog.Logger) http.Handler {
	return (&API{Host: host, opts: opts, jwt: jwt, log: log}).router()
}

// WriteAdminError answers err as the admin API answers its own errors (404
// for an unknown plugin, 409 for dependents, 422 with file:line for a
// plugin error, ...), for the admin endpoints the engine serves itself.
func WriteAdminError(w http.ResponseWriter, err error, log *slog.Logger) {
	(&API{log: log}).writeAdminError(w, err)
}
