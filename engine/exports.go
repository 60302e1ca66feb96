package engine

import (
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vbwd-platform/vbwd-engine/engine/errs"
	"github.com/vbwd-platform/vbwd-engine/engine/luavm"
	"github.com/vbwd-platform/vbwd-engine/engine/plugindb"
	"github.com/vbwd-platform/vbwd-engine/engine/registry"
	"github.com/vbwd-platform/vbwd-engine/engine/spec"
	"github.com/vbwd-platform/vbwd-engine/engine/web"
)

// Names of the engine's API and of its own code that live in sub-packages.

// The error model lives in engine/errs, below every engine package.

var (
	ErrUnknownPlugin       = errs.ErrUnknownPlugin
	ErrNotEnabled          = errs.ErrNotEnabled
	ErrHasDependents       = errs.ErrHasDependents
	ErrPoolExhausted       = errs.ErrPoolExhausted
	ErrPoolClosed          = errs.ErrPoolClosed
	ErrTimeout             = errs.ErrTimeout
	ErrCanceled            = errs.ErrCanceled
	ErrRegMismatch         = errs.ErrRegMismatch
	ErrEngineStopped       = errs.ErrEngineStopped
	ErrAlreadyEnabled      = errs.ErrAlreadyEnabled
	ErrRetired             = errs.ErrRetired
	ErrDatabaseUnavailable = errs.ErrDatabaseUnavailable
)

type (
	PluginError     = errs.PluginError
	DependentsError = errs.DependentsError
	StatusError     = errs.StatusError
)

// The plugins' databases live in engine/plugindb.
type (
	Migrator        = plugindb.Migrator
	MigrationStatus = plugindb.MigrationStatus
)

// NewMigrator makes a migrator over pool for the plugins under root.
func NewMigrator(pool *pgxpool.Pool, root string, log *slog.Logger) (*Migrator, error) {
	return plugindb.NewMigrator(pool, root, log)
}

// NewMigration creates plugins/<plugin>/migrations/<timestamp>_<name>.sql
// with both sections and returns its root-relative path.
func NewMigration(root, plugin, name string, now time.Time) (string, error) {
	return plugindb.NewMigration(root, plugin, name, now)
}

// The Lua VM layer lives in engine/luavm.
const (
	DefaultMemoryBudget     = luavm.DefaultMemoryBudget
	DefaultMaxResponseBytes = luavm.DefaultMaxResponseBytes
)

var (
	ErrMemoryBudget     = luavm.ErrMemoryBudget
	ErrMemoryCeiling    = luavm.ErrMemoryCeiling
	ErrResponseTooLarge = luavm.ErrResponseTooLarge
)

// What a plugin declares and the operator configures lives in engine/spec.
type (
	Manifest        = spec.Manifest
	Dependency      = spec.Dependency
	DependencyError = spec.DependencyError
	PluginsFile     = spec.PluginsFile
	PluginsEntry    = spec.PluginsEntry
	Violation       = spec.Violation
	ConfigError     = spec.ConfigError
)

// ParseDependency parses "name" or "name@<range>".
func ParseDependency(s string) (Dependency, error) { return spec.ParseDependency(s) }

// Server-sent events fan out in engine/web.
type StreamEvent = web.StreamEvent

// What plugins register lives (in part) in engine/registry.
type (
	PermissionDecl = registry.PermissionDecl
	Registration   = registry.Registration
	Route          = registry.Route
	RouteRate      = registry.RouteRate
)

// Registration kinds.
const (
	KindRoute      = registry.KindRoute
	KindEvent      = registry.KindEvent
	KindService    = registry.KindService
	KindPermission = registry.KindPermission
	KindExchanger  = registry.KindExchanger
	KindJob        = registry.KindJob
)

// SuperAdminRole has every permission a plugin declares; it holds none of
// the engine's admin.* permissions unless config.json grants them.
const SuperAdminRole = registry.SuperAdminRole
