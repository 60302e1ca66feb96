package pkgapply

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sort"

	"github.com/jackc/pgx/v5"
	"github.com/vbwd-platform/vbwd-engine/pkgs/archive"
)

// Healing: the newest "packages" change's plugins.lock is the set of
// package-managed plugins every node must run. On connecting to the
// database and at every heartbeat a node compares its plugins/ with it and
// restores any plugin whose files differ (or are missing) from the archive
// stored for that content hash; the replaced directory is kept under
// .data/replaced-plugins/. A plugin it cannot restore keeps its files, and
// the reason is logged and shown in this node's GET /admin/plugins/{name}.

// clusterLock is the newest packages change's lock; nil when none.
func (e Applier) clusterLock(ctx context.Context) (map[string]lockedPlugin, []byte, error) {
	var raw []byte
	err := e.opts.DB.QueryRow(ctx, `select payload from vbwd.admin_changes where action = 'packages'
		order by id desc limit 1`).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	var p struct {
		Lock json.RawMessage `json:"lock"`
	}
	var l struct {
		Plugins map[string]lockedPlugin `json:"plugins"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, nil, err
	}
	if err := json.Unmarshal(p.Lock, &l); err != nil {
		return nil, nil, err
	}
	if l.Plugins == nil {
		l.Plugins = map[string]lockedPlugin{}
	}
	return l.Plugins, p.Lock, nil
}

type lockedPlugin struct {
	Version string `json:"version"`
	Hash    string `json:"hash"`
}

// Heal restores the package-managed plugins whose files on this node
// differ from the cluster's lock, then rescans.
func (e Applier) Heal(ctx context.Context) {
	if !e.h.ClusterOn() || e.h.Closing() {
		return
	}
	e.h.WithApplyLock(func() { e.healPackagesLocked(ctx) })
}

func (e Applier) healPackagesLocked(ctx context.Context) {
	lock, rawLock, err := e.clusterLock(ctx)
	if err != nil || lock == nil {
		return
	}
	var todo []PackageArchive
	names := make([]string, 0, len(lock))
	for n := range lock {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		want := lock[n]
		h, _ := archive.DirHash(filepath.Join(e.opts.Root, "plugins", n))
		if h == want.Hash {
			e.packages.healErrs.Delete(n)
			continue
		}
		var a PackageArchive
		err := e.opts.DB.QueryRow(ctx, `select sha256, name, version, hash from vbwd.plugin_archives
			where name = $1 and hash = $2 limit 1`, n, want.Hash).Scan(&a.SHA256, &a.Name, &a.Version, &a.Hash)
		if err != nil {
			e.healFailed(n, fmt.Errorf("no archive of %s %s with content hash %s in vbwd.plugin_archives (%v): reinstall it with `vbwd plugin install --remote`", n, want.Version, want.Hash, err))
			continue
		}
		todo = append(todo, a)
	}
	if len(todo) == 0 {
		return
	}
	for _, a := range todo {
		keep := filepath.Join(e.opts.Root, ".data", "replaced-plugins")
		if err := e.writePackages(ctx, []PackageArchive{a}, nil, rawLock, keep); err != nil {
			e.healFailed(a.Name, err)
			continue
		}
		e.packages.healErrs.Delete(a.Name)
		e.log.Warn("cluster: restored a package-managed plugin from the cluster's archive (its files differed; the old ones are under .data/replaced-plugins)",
			"plugin", a.Name, "version", a.Version, "hash", a.Hash)
	}
	if _, err := e.h.Rescan(ctx); err != nil {
		e.log.Warn("cluster: rescan after restoring plugins failed", "err", err)
	}
	e.h.ReportNodes(ctx)
}

func (e Applier) healFailed(name string, err error) {
	if old, ok := e.packages.healErrs.Load(name); !ok || old.(string) != err.Error() {
		e.log.Error("cluster: cannot restore a package-managed plugin", "plugin", name, "err", err)
	}
	e.packages.healErrs.Store(name, err.Error())
}

// HealNote says, for GET /admin/plugins/{name} showing a hash mismatch,
// whether and how it heals.
func (e Applier) HealNote(ctx context.Context, name string) string {
	if e.opts.DB == nil {
		return ""
	}
	if v, ok := e.packages.healErrs.Load(name); ok {
		return "this node cannot restore it: " + v.(string)
	}
	lock, _, err := e.clusterLock(ctx)
	if err != nil {
		return "cannot read the cluster's packages: " + err.Error()
	}
	if _, ok := lock[name]; ok {
		return "package-managed: every node restores it from the cluster's archive within 10 s (a node that cannot logs why and shows it here)"
	}
	return "not installed as a package, so nodes cannot heal it: install it with `vbwd plugin install --remote` (every node gets the same archive) or copy the same files to every node"
}
