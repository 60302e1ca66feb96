package plugindb

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/amacneil/dbmate/v2/pkg/dbmate"
	_ "github.com/amacneil/dbmate/v2/pkg/driver/postgres" // registers the postgres driver
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/vbwd-platform/vbwd-engine/engine/errs"
)

// migrationsTable is a plugin's dbmate versions table, in its schema:
// <plugin>.vbwd_migrations (vbwd_migrations.<plugin> before plugins had
// roles; moved on first start, and still used with --unsafe-shared-db-role).
const migrationsTable = "vbwd_migrations"

// Migrator applies plugins' dbmate migrations, each plugin with its own
// versions table, as the plugin's own database role (dbroles.go).
type Migrator struct {
	pool  *pgxpool.Pool
	url   *url.URL // the engine's connection, every parameter kept
	root  string
	log   *slog.Logger
	roles *dbRoles
	// lookup gives a plugin's declared extensions and the names of every
	// installed plugin; set by the engine, called with its lock held (or
	// before anything runs concurrently, from the CLI).
	lookup func(plugin string) (exts, names []string)
	mu     sync.Mutex // dbmate's DB value is not shared, but keep one run per process at a time
}

// MigrationStatus is one migration file of a plugin.
type MigrationStatus struct {
	File    string `json:"file"` // root-relative path
	Version string `json:"version"`
	Applied bool   `json:"applied"`
}

// NewMigrator makes a migrator over pool for the plugins under root.
func NewMigrator(pool *pgxpool.Pool, root string, log *slog.Logger) (*Migrator, error) {
	u, err := connURL(pool.Config())
	if err != nil {
		return nil, err
	}
	m := &Migrator{pool: pool, url: u, root: root, log: log}
	m.roles = newDBRoles(pool, "", false, 4, log)
	m.lookup = func(string) ([]string, []string) { return nil, nil }
	return m, nil
}

// UseRoles configures the plugins' database roles: secret derives their
// passwords, unsafeShared runs plugin SQL as the engine's own user when no
// role may be created, poolMax bounds each plugin's pool.
func (m *Migrator) UseRoles(secret string, unsafeShared bool, poolMax int) {
	m.roles = newDBRoles(m.pool, secret, unsafeShared, poolMax, m.log)
}

// SetLookup sets what gives a plugin's declared extensions and the names of
// every installed plugin; it is called with the engine's lock held (or
// before anything runs concurrently, from the CLI).
func (m *Migrator) SetLookup(lookup func(plugin string) (exts, names []string)) {
	m.lookup = lookup
}

// Close closes the plugins' database pools.
func (m *Migrator) Close() { m.roles.close() }

// Prepare puts a plugin's database role and schema in place and creates the
// extensions its manifest declares (exts), under the migration lock; names
// are the installed plugins. It is idempotent.
func (m *Migrator) Prepare(ctx context.Context, plugin string, exts, names []string) error {
	return m.Locked(ctx, func() error { return m.roles.prepare(ctx, plugin, exts, names) })
}

// PluginPool is the pool a plugin's SQL runs on: one logging in as its role.
// It fails when plugin SQL is refused (no role may be created and ops did
// not opt in to the shared user) or the plugin was not prepared.
func (m *Migrator) PluginPool(plugin string) (*pgxpool.Pool, error) { return m.roles.pool(plugin) }

// ClosePluginPool closes a plugin's pool, if one is open; the next
// PluginPool opens a new one. Call it only when nothing of the plugin may
// still run SQL (its last generation retired): a query holding the old pool
// would fail.
func (m *Migrator) ClosePluginPool(plugin string) { m.roles.dropPool(plugin) }

// prepared makes sure Prepare ran for plugin in this process and returns
// the mode.
func (m *Migrator) prepared(ctx context.Context, plugin string) (dbMode, error) {
	m.roles.mu.Lock()
	done, mode := m.roles.prepared[plugin], m.roles.mode
	m.roles.mu.Unlock()
	if !done || mode == 0 {
		exts, names := m.lookup(plugin)
		if err := m.Prepare(ctx, plugin, exts, names); err != nil {
			return 0, err
		}
	}
	m.roles.mu.Lock()
	defer m.roles.mu.Unlock()
	return m.roles.mode, nil
}

// roleURL is the engine's URL logging in as the plugin's role, with the
// plugin's schema as search_path.
func (m *Migrator) roleURL(plugin string) *url.URL {
	u := *m.url
	role := pluginRole(plugin)
	if pw := rolePassword(m.roles.secret, role); pw != "" {
		u.User = url.UserPassword(role, pw)
	} else {
		u.User = url.User(role)
	}
	q := u.Query()
	q.Set("search_path", searchPath(plugin))
	u.RawQuery = q.Encode()
	return &u
}

// migrationsDir is plugins/<name>/migrations.
func (m *Migrator) migrationsDir(plugin string) string {
	return filepath.Join(m.root, "plugins", plugin, "migrations")
}

// HasMigrations reports whether a plugin ships migration files.
func (m *Migrator) HasMigrations(plugin string) bool {
	return HasMigrations(m.root, plugin)
}

func HasMigrations(root, plugin string) bool {
	entries, err := os.ReadDir(filepath.Join(root, "plugins", plugin, "migrations"))
	if err != nil {
		return false
	}
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".sql") {
			return true
		}
	}
	return false
}

// dbmate runs as the plugin's role on its versions table, or as the
// engine's user on the legacy table in shared mode.
func (m *Migrator) dbmate(plugin string, mode dbMode, log io.Writer) *dbmate.DB {
	db := dbmate.New(m.url)
	db.MigrationsTableName = "vbwd_migrations." + plugin
	if mode == modeRoles {
		db = dbmate.New(m.roleURL(plugin))
		db.MigrationsTableName = plugin + "." + migrationsTable
	}
	db.AutoDumpSchema = false
	db.MigrationsDir = []string{m.migrationsDir(plugin)}
	db.Log = log
	return db
}

// runMode is the mode migrations of plugin run in, refusing modeRefused.
func (m *Migrator) runMode(ctx context.Context, plugin string) (dbMode, error) {
	mode, err := m.prepared(ctx, plugin)
	if err != nil {
		return 0, &errs.PluginError{Plugin: plugin, Op: "migrate", Err: err}
	}
	if mode == modeRefused {
		return 0, &errs.PluginError{Plugin: plugin, Op: "migrate", Err: errPluginSQLRefused}
	}
	return mode, nil
}

// lockTableSQL makes the table whose lock serialises migrations and setup
// across engines. Not an advisory lock: any role may take those, so a
// plugin could hold the engine's forever; plugin roles cannot reach vbwd.
const lockTableSQL = `create schema if not exists vbwd;
create table if not exists vbwd.migration_lock ();
revoke all on vbwd.migration_lock from public`

// Locked runs fn while holding the migration lock: an EXCLUSIVE lock on
// vbwd.migration_lock, in a transaction of a connection of its own that
// stays open while fn runs on others.
func (m *Migrator) Locked(ctx context.Context, fn func() error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	conn, err := m.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	defer conn.Release()
	if err := retryCatalog(ctx, func() error { _, err := conn.Exec(ctx, lockTableSQL); return err }); err != nil {
		return fmt.Errorf("migrations: creating vbwd.migration_lock: %w", err)
	}
	tx, err := conn.Begin(ctx)
	if err == nil {
		_, err = tx.Exec(ctx, "lock table vbwd.migration_lock in exclusive mode")
	}
	if err != nil {
		return fmt.Errorf("migrations: taking the migration lock: %w", err)
	}
	defer func() {
		uctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := tx.Rollback(uctx); err != nil {
			conn.Conn().Close(uctx) // ending the session releases the lock
		}
	}()
	return fn()
}

// Up applies a plugin's pending migrations in order, each file in its own
// transaction. It returns the files applied. A failing file is rolled back
// and reported as a errs.PluginError naming the file and the line of the SQL
// error.
func (m *Migrator) Up(ctx context.Context, plugin string) ([]string, error) {
	if !m.HasMigrations(plugin) {
		return nil, nil
	}
	mode, err := m.runMode(ctx, plugin)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	err = m.Locked(ctx, func() error { return m.dbmate(plugin, mode, &out).Migrate() })
	applied := logged(out.String(), "Applied: ")
	if err != nil {
		failing := lastLogged(out.String(), "Applying: ")
		if n := len(applied); n > 0 && failing != "" && applied[n-1] == failing {
			applied = applied[:n-1] // dbmate prints "Applied" even for the failing file
		}
		return m.rel(plugin, applied), m.migrationError(plugin, failing, err)
	}
	for _, f := range applied {
		m.log.Info("migration applied", "plugin", plugin, "file", f)
	}
	return m.rel(plugin, applied), nil
}

// Down rolls back a plugin's last `steps` applied migrations.
func (m *Migrator) Down(ctx context.Context, plugin string, steps int) ([]string, error) {
	mode, err := m.runMode(ctx, plugin)
	if err != nil {
		return nil, err
	}
	var done []string
	for i := 0; i < steps; i++ {
		var out bytes.Buffer
		err := m.Locked(ctx, func() error { return m.dbmate(plugin, mode, &out).Rollback() })
		if errors.Is(err, dbmate.ErrNoRollback) {
			break
		}
		file := lastLogged(out.String(), "Rolling back: ")
		if err != nil {
			return m.rel(plugin, done), m.migrationError(plugin, file, err)
		}
		done = append(done, file)
	}
	return m.rel(plugin, done), nil
}

// Status lists a plugin's migration files, applied or pending.
func (m *Migrator) Status(ctx context.Context, plugin string) ([]MigrationStatus, error) {
	if !m.HasMigrations(plugin) {
		return nil, nil
	}
	mode, err := m.runMode(ctx, plugin)
	if err != nil {
		return nil, err
	}
	var list []dbmate.Migration
	err = m.Locked(ctx, func() (err error) {
		list, err = m.dbmate(plugin, mode, io.Discard).FindMigrations()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("plugin %s: migration status: %w", plugin, err)
	}
	out := make([]MigrationStatus, len(list))
	for i, mg := range list {
		out[i] = MigrationStatus{File: path.Join("plugins", plugin, "migrations", mg.FileName), Version: mg.Version, Applied: mg.Applied}
	}
	return out, nil
}

func (m *Migrator) rel(plugin string, files []string) []string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = path.Join("plugins", plugin, "migrations", f)
	}
	return out
}

var loggedFile = regexp.MustCompile(`^(\S+\.sql)`)

// logged lists the files dbmate reported with prefix ("Applied: x.sql in 2ms").
func logged(out, prefix string) []string {
	var files []string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), prefix); ok {
			if m := loggedFile.FindStringSubmatch(rest); m != nil {
				files = append(files, m[1])
			}
		}
	}
	return files
}

func lastLogged(out, prefix string) string {
	files := logged(out, prefix)
	if len(files) == 0 {
		return ""
	}
	return files[len(files)-1]
}

// migrationError names the plugin, the file and the file line of the SQL
// error dbmate reports (its position is relative to the up or down block).
func (m *Migrator) migrationError(plugin, file string, err error) error {
	pe := &errs.PluginError{Plugin: plugin, Op: "migrate", Err: err}
	if file == "" {
		return pe
	}
	pe.File = path.Join("plugins", plugin, "migrations", file)
	var qe *dbmate.QueryError
	if !errors.As(err, &qe) {
		return pe
	}
	pe.Err = qe.Err
	content, rerr := os.ReadFile(filepath.Join(m.migrationsDir(plugin), file))
	if rerr != nil {
		return pe
	}
	base := strings.Index(string(content), qe.Query)
	if base < 0 {
		return pe
	}
	line := 1 + strings.Count(string(content[:base]), "\n")
	if qe.Position > 0 {
		runes := []rune(qe.Query)
		upto := min(qe.Position-1, len(runes))
		line += strings.Count(string(runes[:upto]), "\n")
	}
	pe.Line = line
	return pe
}

// NewMigration creates plugins/<plugin>/migrations/<timestamp>_<name>.sql
// with both sections and returns its root-relative path.
func NewMigration(root, plugin, name string, now time.Time) (string, error) {
	if !PluginName.MatchString(plugin) {
		return "", fmt.Errorf("bad plugin name %q", plugin)
	}
	if _, err := os.Stat(filepath.Join(root, "plugins", plugin, "init.lua")); err != nil {
		return "", fmt.Errorf("%w: %s (no plugins/%s/init.lua)", errs.ErrUnknownPlugin, plugin, plugin)
	}
	if !migrationName.MatchString(name) {
		return "", fmt.Errorf("migration name %q: use lower-case letters, digits and _", name)
	}
	dir := filepath.Join(root, "plugins", plugin, "migrations")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	// A version already taken (two files made in one second) would make
	// dbmate treat the new file as applied: take the next free second.
	taken := map[string]bool{}
	if entries, err := os.ReadDir(dir); err == nil {
		for _, e := range entries {
			if v, _, ok := strings.Cut(e.Name(), "_"); ok {
				taken[v] = true
			}
		}
	}
	t := now.UTC()
	for taken[t.Format("20060102150405")] {
		t = t.Add(time.Second)
	}
	file := t.Format("20060102150405") + "_" + name + ".sql"
	body := "-- migrate:up\n\n\n-- migrate:down\n\n"
	f, err := os.OpenFile(filepath.Join(dir, file), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return "", err
	}
	if _, err := f.WriteString(body); err != nil {
		f.Close()
		return "", err
	}
	return path.Join("plugins", plugin, "migrations", file), f.Close()
}

var migrationName = regexp.MustCompile(`^[a-z0-9_]{1,100}$`)
