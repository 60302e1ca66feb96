package plugindb

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Plugin SQL never runs as the engine's database user, which is usually a
// superuser (the embedded cluster's postgres, or whoever DATABASE_URL names):
// a superuser session can run shell commands (COPY ... TO PROGRAM), read
// server files and touch every table. Instead each plugin gets a LOGIN role
// of its own, vbwd_plugin_<name> — NOSUPERUSER NOCREATEDB NOCREATEROLE
// NOREPLICATION NOBYPASSRLS, member of no role — owning a schema named after
// the plugin, which is its search_path (then public, for extensions). Its
// queries run on a pool that logs in as that role (never SET ROLE on an
// engine session: RESET ROLE would undo it), and its migrations on a
// connection that does too. The engine's schemas (vbwd, vbwd_migrations) and
// the other plugins' schemas grant it nothing; durable events go through
// vbwd_api.publish_event, a SECURITY DEFINER function that takes the source
// plugin from session_user. The engine creates what a plugin may not: its
// role and schema, and the extensions its manifest declares (trusted ones).
//
// When the engine's user may not create roles (neither superuser nor
// CREATEROLE) plugin SQL is refused, unless ops opt in to running it as the
// engine's own user (Options.UnsafeSharedDBRole), which is logged loudly.

// RolePrefix names plugin roles: vbwd_plugin_<plugin>.
const RolePrefix = "vbwd_plugin_"

// maxRolePlugin is the longest plugin name whose role name fits PostgreSQL's
// 63-byte identifiers.
const maxRolePlugin = 63 - len(RolePrefix)

// dbMode is how plugin SQL reaches the database.
type dbMode int

const (
	modeRoles   dbMode = iota + 1 // a role per plugin (the default)
	modeShared                    // the engine's own user (opted in, unsafe)
	modeRefused                   // no way to run plugin SQL safely
)

// errPluginSQLRefused is the error of plugin SQL when the engine's user
// cannot create roles and ops did not opt in.
var errPluginSQLRefused = errors.New("plugin SQL is refused: the engine's database user can create no roles " +
	"(grant it CREATEROLE, or run with --unsafe-shared-db-role / VBWD_UNSAFE_SHARED_DB_ROLE=1 to run plugin SQL as that user)")

// dbRoles creates and tracks the plugins' roles, schemas and pools on one
// database.
type dbRoles struct {
	admin   *pgxpool.Pool // the engine's own pool
	secret  string        // derives role passwords; "" leaves them unset (trust auth)
	unsafe  bool
	log     *slog.Logger
	maxConn int32

	// prep serialises prepare (which talks to the database); mu guards the
	// fields below it for moments only, so that queries of every plugin
	// never wait for another plugin's preparation.
	prep  sync.Mutex
	super bool   // the engine's user is a superuser (under prep)
	user  string // the engine's user (under prep)
	setup bool   // database-wide setup done (under prep)
	now   bool   // vbwd_now() checked (under prep): now.go

	mu       sync.Mutex
	mode     dbMode
	prepared map[string]bool          // plugins whose role and schema are in place
	pools    map[string]*pgxpool.Pool // per plugin, made on first use
	closed   bool

	dropping sync.WaitGroup // pools dropped and still closing (dropPool)
}

func newDBRoles(admin *pgxpool.Pool, secret string, unsafe bool, poolMax int, log *slog.Logger) *dbRoles {
	if secret == "" {
		secret = admin.Config().ConnConfig.Password
	}
	return &dbRoles{admin: admin, secret: secret, unsafe: unsafe, log: log,
		maxConn: int32(max(2, min(poolMax, 10))), prepared: map[string]bool{}, pools: map[string]*pgxpool.Pool{}}
}

// pluginRole is the role of a plugin.
func pluginRole(plugin string) string { return RolePrefix + plugin }

// rolePassword is a plugin role's password: the same on every engine that
// shares the secret, so that nodes of one database agree without talking.
func rolePassword(secret, role string) string {
	if secret == "" {
		return ""
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("vbwd plugin role password\x00" + role))
	return hex.EncodeToString(mac.Sum(nil))
}

// checkSchemaName refuses plugin names that cannot be, or must not be, a
// schema of their own.
func checkSchemaName(plugin string) error {
	switch {
	case plugin == "public" || plugin == "information_schema":
		return fmt.Errorf("plugin name %q is a PostgreSQL schema; rename the plugin", plugin)
	case strings.HasPrefix(plugin, "pg_"):
		return fmt.Errorf("plugin name %q: names starting with pg_ are reserved by PostgreSQL", plugin)
	case strings.HasPrefix(plugin, "vbwd"):
		return fmt.Errorf("plugin name %q: names starting with vbwd are reserved for the engine's schemas", plugin)
	case len(plugin) > maxRolePlugin:
		return fmt.Errorf("plugin name %q is longer than %d bytes, too long for its database role %s<name>", plugin, maxRolePlugin, RolePrefix)
	}
	return nil
}

// detect decides the mode once, from the engine's own user (under prep).
func (r *dbRoles) detect(ctx context.Context) (dbMode, error) {
	r.mu.Lock()
	mode := r.mode
	r.mu.Unlock()
	if mode != 0 {
		return mode, nil
	}
	var user string
	var super, createRole bool
	err := r.admin.QueryRow(ctx, "select current_user, rolsuper, rolcreaterole from pg_roles where rolname = current_user").
		Scan(&user, &super, &createRole)
	if err != nil {
		return 0, fmt.Errorf("database roles: reading the engine's user: %w", err)
	}
	r.super, r.user = super, user
	switch {
	case super || createRole:
		mode = modeRoles
	case r.unsafe:
		mode = modeShared
		r.log.Warn("UNSAFE: plugin SQL runs as the engine's database user, with all its rights over every table "+
			"(--unsafe-shared-db-role); give that user CREATEROLE so each plugin gets a role of its own", "user", user)
	default:
		mode = modeRefused
		r.log.Error("plugin SQL is refused: database user "+user+" can create no roles; grant it CREATEROLE "+
			"(or opt in to --unsafe-shared-db-role)", "user", user)
	}
	r.mu.Lock()
	r.mode = mode
	r.mu.Unlock()
	return mode, nil
}

// publicCreateSQL tells whether PUBLIC may create in schema public.
const publicCreateSQL = `select exists (select 1 from pg_namespace n,
	aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
	where n.nspname = 'public' and a.grantee = 0 and a.privilege_type = 'CREATE')`

// setupDatabase runs setupSQL once.
func (r *dbRoles) setupDatabase(ctx context.Context) error {
	if r.setup {
		return nil
	}
	if _, err := r.admin.Exec(ctx, setupSQL); err != nil {
		return fmt.Errorf("database roles: setting up schema vbwd_api: %w", err)
	}
	var open bool
	if err := r.admin.QueryRow(ctx, publicCreateSQL).Scan(&open); err != nil {
		return fmt.Errorf("database roles: %w", err)
	}
	if open {
		if _, err := r.admin.Exec(ctx, "revoke create on schema public from public"); err != nil {
			return fmt.Errorf("database roles: revoking CREATE on schema public from PUBLIC (plugin roles must not create there): %w", err)
		}
		r.log.Info("revoked CREATE on schema public from PUBLIC: plugin roles create in their own schema")
	}
	r.setup = true
	return nil
}

// prepare puts a plugin's role and schema in place (roles mode), creates the
// extensions its manifest declares, and moves its tables of an earlier
// layout into its schema. It is idempotent; names lists every installed
// plugin (to tell whose a legacy table is). Call it under the migration
// lock.
func (r *dbRoles) prepare(ctx context.Context, plugin string, exts, names []string) error {
	r.prep.Lock()
	defer r.prep.Unlock()
	mode, err := r.detect(ctx)
	if err != nil {
		return err
	}
	if err := r.ensureExtensions(ctx, plugin, exts); err != nil {
		return err
	}
	if err := r.ensureNow(ctx); err != nil {
		return err
	}
	r.mu.Lock()
	done := r.prepared[plugin]
	r.mu.Unlock()
	if mode != modeRoles || done {
		return nil // a reload: the role and schema are in place
	}
	if err := checkSchemaName(plugin); err != nil {
		return err
	}
	if plugin == r.user {
		// "$user" leads the engine's own search_path: a plugin must not
		// own a schema the engine's sessions look into
		return fmt.Errorf("plugin name %q is the engine's database user, whose schema its sessions search; rename the plugin", plugin)
	}
	if err := r.setupDatabase(ctx); err != nil {
		return err
	}
	role := pluginRole(plugin)
	if err := retryCatalog(ctx, func() error { return r.ensureRole(ctx, role, plugin) }); err != nil {
		return fmt.Errorf("database role %s: %w", role, err)
	}
	if err := r.ensureSchema(ctx, plugin, role); err != nil {
		return fmt.Errorf("schema %s: %w", plugin, err)
	}
	if err := r.adoptLegacy(ctx, plugin, role, names); err != nil {
		return fmt.Errorf("moving the tables of plugin %s into its schema: %w", plugin, err)
	}
	if err := r.checkLogin(ctx, plugin, role); err != nil {
		return err
	}
	r.mu.Lock()
	r.prepared[plugin] = true
	r.mu.Unlock()
	return nil
}

// retryCatalog runs fn again when it lost a race on the cluster-wide role
// catalog with another engine (on this or another database of the cluster:
// the migration lock is per database, roles are not).
func retryCatalog(ctx context.Context, fn func() error) error {
	var err error
	for try := 0; try < 6; try++ {
		if err = fn(); err == nil || !catalogRace(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(10*(try+1)) * time.Millisecond):
		}
	}
	return err
}

func catalogRace(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	// duplicate_object, unique_violation, "tuple concurrently updated" (XX000),
	// duplicate_schema and duplicate_table (create ... if not exists racing)
	return pe.Code == "42710" || pe.Code == "23505" || pe.Code == "42P06" || pe.Code == "42P07" ||
		(pe.Code == "XX000" && strings.Contains(pe.Message, "concurrently"))
}

// ensureRole creates role or puts its attributes and memberships back to
// what a plugin role has.
func (r *dbRoles) ensureRole(ctx context.Context, role, plugin string) error {
	id := pgx.Identifier{role}.Sanitize()
	attrs := " login nosuperuser nocreatedb nocreaterole noreplication nobypassrls noinherit"
	var oid uint32
	var ok bool
	err := r.admin.QueryRow(ctx, `select oid, rolcanlogin and not (rolsuper or rolcreatedb or rolcreaterole
		or rolreplication or rolbypassrls or rolinherit) from pg_roles where rolname = $1`, role).Scan(&oid, &ok)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		sql := "create role " + id + attrs
		if pw := rolePassword(r.secret, role); pw != "" {
			v, err := scramVerifier(pw)
			if err != nil {
				return err
			}
			sql += " password '" + v + "'" // base64 and hex: nothing to escape
		}
		if _, err := r.admin.Exec(ctx, sql); err != nil {
			return err
		}
		if _, err := r.admin.Exec(ctx, "alter role "+id+" set search_path to "+searchPath(plugin)); err != nil {
			return err
		}
		r.log.Info("created database role", "plugin", plugin, "role", role)
		return r.grantSelf(ctx, role)
	case err != nil:
		return err
	}
	if !ok {
		r.log.Warn("database role had more rights than a plugin role: reset", "plugin", plugin, "role", role)
		if _, err := r.admin.Exec(ctx, "alter role "+id+attrs); err != nil {
			return err
		}
	}
	rows, err := r.admin.Query(ctx, `select g.rolname from pg_auth_members m join pg_roles g on g.oid = m.roleid
		where m.member = $1`, oid)
	if err != nil {
		return err
	}
	groups, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, g := range groups {
		r.log.Warn("database role was a member of another role: revoked", "plugin", plugin, "role", role, "member_of", g)
		if _, err := r.admin.Exec(ctx, "revoke "+pgx.Identifier{g}.Sanitize()+" from "+id); err != nil {
			return err
		}
	}
	return r.grantSelf(ctx, role)
}

// grantSelf makes a non-superuser engine a member of role: PostgreSQL wants
// that to create the role's schema and hand it objects.
func (r *dbRoles) grantSelf(ctx context.Context, role string) error {
	if r.super {
		return nil
	}
	var member bool
	if err := r.admin.QueryRow(ctx, "select pg_has_role(current_user, $1, 'MEMBER')", role).Scan(&member); err != nil || member {
		return err
	}
	_, err := r.admin.Exec(ctx, "grant "+pgx.Identifier{role}.Sanitize()+" to current_user")
	return err
}

// searchPath is a plugin's search_path: its schema, then public (where the
// engine creates the extensions plugins declare).
func searchPath(plugin string) string { return pgx.Identifier{plugin}.Sanitize() + ", public" }

// ensureSchema creates the plugin's schema owned by its role and lets the
// role call vbwd_api.publish_event.
func (r *dbRoles) ensureSchema(ctx context.Context, plugin, role string) error {
	s, id := pgx.Identifier{plugin}.Sanitize(), pgx.Identifier{role}.Sanitize()
	var owner string
	err := r.admin.QueryRow(ctx, "select pg_get_userbyid(nspowner) from pg_namespace where nspname = $1", plugin).Scan(&owner)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		if _, err := r.admin.Exec(ctx, "create schema "+s+" authorization "+id); err != nil {
			return err
		}
	case err != nil:
		return err
	case owner != role && owner != r.user:
		return fmt.Errorf("the schema exists and belongs to %s, not to the engine (%s): the engine takes over only its own "+
			"schemas; rename the plugin, or that schema", owner, r.user)
	case owner != role:
		r.log.Warn("schema was owned by the engine's user: handed to the plugin's role", "plugin", plugin, "owner", owner)
		if _, err := r.admin.Exec(ctx, "alter schema "+s+" owner to "+id); err != nil {
			return err
		}
	}
	_, err = r.admin.Exec(ctx, "revoke all on schema "+s+" from public; "+
		"grant usage on schema vbwd_api to "+id+"; "+
		"grant execute on function vbwd_api.publish_event(uuid, text, jsonb) to "+id+"; "+
		"grant execute on function vbwd_api.publish_event(uuid, text, jsonb, boolean) to "+id)
	return err
}

// checkLogin makes sure the role can log in with the password this engine
// derives, setting it when it differs (another secret was in use before).
func (r *dbRoles) checkLogin(ctx context.Context, plugin, role string) error {
	cfg := r.roleConnConfig(plugin)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err == nil {
		return conn.Close(ctx)
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || !strings.HasPrefix(pe.Code, "28") || r.secret == "" {
		return fmt.Errorf("database role %s cannot log in: %w (plugin roles authenticate with a password derived "+
			"from VBWD_DB_ROLE_SECRET or the DATABASE_URL password; allow password logins for them in pg_hba.conf)", role, err)
	}
	v, err := scramVerifier(rolePassword(r.secret, role))
	if err != nil {
		return err
	}
	err = retryCatalog(ctx, func() error {
		_, err := r.admin.Exec(ctx, "alter role "+pgx.Identifier{role}.Sanitize()+" password '"+v+"'")
		return err
	})
	if err != nil {
		return fmt.Errorf("database role %s: setting its password: %w", role, err)
	}
	r.log.Info("database role password set", "plugin", plugin, "role", role)
	return nil
}

// roleConnConfig is the engine's connection config, logging in as the
// plugin's role with its search_path.
func (r *dbRoles) roleConnConfig(plugin string) *pgx.ConnConfig {
	cc := r.admin.Config().ConnConfig.Copy()
	cc.User = pluginRole(plugin)
	cc.Password = rolePassword(r.secret, cc.User)
	cc.RuntimeParams["search_path"] = searchPath(plugin)
	return cc
}

// pool is where a plugin's SQL runs: its own small pool logging in as its
// role (made on first use), the engine's pool in shared mode, or an error.
func (r *dbRoles) pool(plugin string) (*pgxpool.Pool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.mode == modeShared:
		return r.admin, nil
	case r.mode == modeRefused:
		return nil, errPluginSQLRefused
	case r.closed:
		return nil, errors.New("the engine's database connections are closed")
	case !r.prepared[plugin]:
		return nil, fmt.Errorf("plugin %s has no database role yet (it is not enabled)", plugin)
	}
	if p := r.pools[plugin]; p != nil {
		return p, nil
	}
	cfg := r.admin.Config().Copy()
	cfg.ConnConfig = r.roleConnConfig(plugin)
	cfg.MaxConns, cfg.MinConns = r.maxConn, 0
	cfg.MaxConnIdleTime = time.Minute
	p, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return nil, fmt.Errorf("plugin %s: database pool: %w", plugin, err)
	}
	r.pools[plugin] = p
	return p, nil
}

// dropPool closes one plugin's pool (never the engine's, which shared mode
// hands out and the map never holds); pool opens a new one on next use.
func (r *dbRoles) dropPool(plugin string) {
	r.mu.Lock()
	p := r.pools[plugin]
	delete(r.pools, plugin)
	r.mu.Unlock()
	if p != nil {
		// Close waits for every acquired connection to come back, which a
		// call cancelled by a drain bound may hold until its own deadline:
		// the caller (the engine's retirement bookkeeping) must not wait.
		r.dropping.Add(1)
		go func() {
			defer r.dropping.Done()
			p.Close()
		}()
	}
}

// close closes the plugins' pools.
func (r *dbRoles) close() {
	r.mu.Lock()
	pools := r.pools
	r.pools, r.closed = map[string]*pgxpool.Pool{}, true
	r.mu.Unlock()
	for _, p := range pools {
		p.Close()
	}
	r.dropping.Wait()
}
