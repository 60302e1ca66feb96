package plugindb

import (
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
)

// ExtensionName is what a manifest may list in extensions.
var ExtensionName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)

// ensureExtensions creates the extensions a plugin's manifest declares, in
// schema public (on every plugin's search_path). An extension already in the
// database is accepted as it is — a superuser may have installed it on
// purpose; a missing one is created only when PostgreSQL marks it trusted
// (safe for non-superusers to have), otherwise the plugin fails naming it.
func (r *dbRoles) ensureExtensions(ctx context.Context, plugin string, exts []string) error {
	for _, ext := range exts {
		var installed bool
		if err := r.admin.QueryRow(ctx, "select exists (select 1 from pg_extension where extname = $1)", ext).Scan(&installed); err != nil {
			return fmt.Errorf("extension %s: %w", ext, err)
		}
		if installed {
			continue
		}
		var trusted *bool
		err := r.admin.QueryRow(ctx, `select v.trusted from pg_available_extensions e
			join pg_available_extension_versions v on v.name = e.name and v.version = e.default_version
			where e.name = $1`, ext).Scan(&trusted)
		switch {
		case errors.Is(err, pgx.ErrNoRows) || (err == nil && trusted == nil):
			return fmt.Errorf("plugin %s declares extension %q, which this PostgreSQL server does not have", plugin, ext)
		case err != nil:
			return fmt.Errorf("extension %s: %w", ext, err)
		case !*trusted:
			return fmt.Errorf("plugin %s declares extension %q, which PostgreSQL does not mark trusted: the engine creates "+
				"only trusted extensions (a superuser may install it in the database beforehand: create extension %q)", plugin, ext, ext)
		}
		if _, err := r.admin.Exec(ctx, "create extension if not exists "+pgx.Identifier{ext}.Sanitize()+" schema public"); err != nil {
			return fmt.Errorf("plugin %s: creating extension %s: %w", plugin, ext, err)
		}
		r.log.Info("created extension", "plugin", plugin, "extension", ext)
	}
	return nil
}

// legacyRelsSQL lists what a plugin made in schema public before it had a
// schema of its own: tables, views, sequences not owned by a column (those
// move with their table) and foreign tables named <plugin> or <plugin>_*.
const legacyRelsSQL = `select c.relname, c.relkind::text from pg_class c join pg_namespace n on n.oid = c.relnamespace
where n.nspname = 'public' and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')
  and (c.relname = $1 or left(c.relname, length($1) + 1) = $1 || '_')
  and not (c.relkind = 'S' and exists (select 1 from pg_depend d
    where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype in ('a', 'i')))
order by c.relkind <> 'S' desc, c.relname`

// legacyTypesSQL lists standalone types (enums, domains, ranges, composite
// types) with such names.
const legacyTypesSQL = `select t.typname from pg_type t join pg_namespace n on n.oid = t.typnamespace
where n.nspname = 'public' and t.typtype in ('e', 'd', 'r', 'c')
  and (t.typtype <> 'c' or (select c.relkind from pg_class c where c.oid = t.typrelid) = 'c')
  and (t.typname = $1 or left(t.typname, length($1) + 1) = $1 || '_')
order by t.typname`

// strayRelsSQL lists relations in the plugin's schema not owned by its role.
const strayRelsSQL = `select c.relname, c.relkind::text from pg_class c
where c.relnamespace = $1::regnamespace and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S') and c.relowner <> $2::regrole
  and not (c.relkind = 'S' and exists (select 1 from pg_depend d
    where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype in ('a', 'i')))`

// relVerb is the ALTER command of a relkind.
func relVerb(kind string) string {
	switch kind {
	case "v":
		return "view"
	case "m":
		return "materialized view"
	case "f":
		return "foreign table"
	case "S":
		return "sequence"
	}
	return "table"
}

// owner returns which of names a public object called obj belongs to: the
// longest plugin name it equals or starts with followed by "_" (so notes_x
// is notes_extra's when both plugins exist and it is notes_extra_x).
func owner(obj string, names []string) string {
	best := ""
	for _, n := range names {
		if (obj == n || strings.HasPrefix(obj, n+"_")) && len(n) > len(best) {
			best = n
		}
	}
	return best
}

// adoptLegacy moves a plugin's objects of the earlier layout — in schema
// public, owned by the engine's user, versions in vbwd_migrations.<plugin> —
// into its schema and hands them (and anything else there) to its role, in
// one transaction, logging each.
func (r *dbRoles) adoptLegacy(ctx context.Context, plugin, role string, names []string) error {
	if !containsStr(names, plugin) {
		names = append(names, plugin)
	}
	s, id := pgx.Identifier{plugin}.Sanitize(), pgx.Identifier{role}.Sanitize()
	tx, err := r.admin.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // no-op after commit
	rows, err := tx.Query(ctx, legacyRelsSQL, plugin)
	if err != nil {
		return err
	}
	rels, err := pgx.CollectRows(rows, pgx.RowToStructByPos[struct{ Name, Kind string }])
	if err != nil {
		return err
	}
	for _, rel := range rels {
		if owner(rel.Name, names) != plugin {
			continue
		}
		if _, err := tx.Exec(ctx, "alter "+relVerb(rel.Kind)+" public."+pgx.Identifier{rel.Name}.Sanitize()+" set schema "+s); err != nil {
			return fmt.Errorf("%s public.%s: %w", relVerb(rel.Kind), rel.Name, err)
		}
		r.log.Info("moved into the plugin's schema", "plugin", plugin, "object", "public."+rel.Name, "to", plugin+"."+rel.Name)
	}
	rows, err = tx.Query(ctx, legacyTypesSQL, plugin)
	if err != nil {
		return err
	}
	types, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, t := range types {
		if owner(t, names) != plugin {
			continue
		}
		tid := pgx.Identifier{t}.Sanitize()
		if _, err := tx.Exec(ctx, "alter type public."+tid+" set schema "+s+"; alter type "+s+"."+tid+" owner to "+id); err != nil {
			return fmt.Errorf("type public.%s: %w", t, err)
		}
		r.log.Info("moved into the plugin's schema", "plugin", plugin, "object", "public."+t, "to", plugin+"."+t)
	}
	if err := r.moveVersions(ctx, tx, plugin, s, id); err != nil {
		return err
	}
	if err := reown(ctx, tx, plugin, role); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// moveVersions moves the migration versions of vbwd_migrations.<plugin> into
// <plugin>.vbwd_migrations, owned by the role (dbmate runs as the role).
func (r *dbRoles) moveVersions(ctx context.Context, tx pgx.Tx, plugin, s, id string) error {
	var legacy, current bool
	err := tx.QueryRow(ctx, "select to_regclass($1) is not null, to_regclass($2) is not null",
		"vbwd_migrations."+pgx.Identifier{plugin}.Sanitize(), s+"."+migrationsTable).Scan(&legacy, &current)
	if err != nil || !legacy || current {
		return err
	}
	old := "vbwd_migrations." + pgx.Identifier{plugin}.Sanitize()
	_, err = tx.Exec(ctx, "create table "+s+"."+migrationsTable+" (version varchar primary key); "+
		"insert into "+s+"."+migrationsTable+" select version from "+old+"; drop table "+old+"; "+
		"alter table "+s+"."+migrationsTable+" owner to "+id)
	if err != nil {
		return fmt.Errorf("moving %s: %w", old, err)
	}
	r.log.Info("moved the plugin's migration versions", "plugin", plugin, "from", "vbwd_migrations."+plugin, "to", plugin+"."+migrationsTable)
	return nil
}

// reown hands every relation and type in the plugin's schema to its role
// (indexes and column sequences follow their table).
func reown(ctx context.Context, tx pgx.Tx, plugin, role string) error {
	s, id := pgx.Identifier{plugin}.Sanitize(), pgx.Identifier{role}.Sanitize()
	rows, err := tx.Query(ctx, strayRelsSQL, s, id)
	if err != nil {
		return err
	}
	rels, err := pgx.CollectRows(rows, pgx.RowToStructByPos[struct{ Name, Kind string }])
	if err != nil {
		return err
	}
	for _, rel := range rels {
		if _, err := tx.Exec(ctx, "alter "+relVerb(rel.Kind)+" "+s+"."+pgx.Identifier{rel.Name}.Sanitize()+" owner to "+id); err != nil {
			return fmt.Errorf("%s %s.%s: %w", relVerb(rel.Kind), plugin, rel.Name, err)
		}
	}
	return nil
}

func containsStr(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// scramVerifier is what PostgreSQL stores for password pw under
// scram-sha-256 (RFC 5802/7677), computed here so that the password itself
// never travels in a CREATE/ALTER ROLE statement a server log could keep.
func scramVerifier(pw string) (string, error) {
	const iter = 4096
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	salted, err := pbkdf2.Key(sha256.New, pw, salt, iter, sha256.Size)
	if err != nil {
		return "", err
	}
	hm := func(key []byte, msg string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(msg))
		return m.Sum(nil)
	}
	stored := sha256.Sum256(hm(salted, "Client Key"))
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", iter, b64(salt), b64(stored[:]), b64(hm(salted, "Server Key"))), nil
}
