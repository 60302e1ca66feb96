// Package pkgapply applies plugin package installs, updates and removals
// across a cluster (see below). It reaches the engine through Host and
// never imports it.
package pkgapply

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vbwd-platform/vbwd-engine/engine/admin"
	"github.com/vbwd-platform/vbwd-engine/engine/spec"
	"github.com/vbwd-platform/vbwd-engine/engine/web"
	"github.com/vbwd-platform/vbwd-engine/pkgs/archive"
)

// Plugins as packages across a cluster (issue 16). The node that takes an
// admin install, update or remove resolves it with Options.Packages (pkgs,
// which fetches sources, checks manifests and ranges, and packs each
// plugin it writes), stores every archive in vbwd.plugin_archives by its
// sha256, and records a "packages" change in the change log. Every node —
// that one included — applies the change from the database: it fetches
// each archive by hash, verifies its sha256 and the unpacked directory's
// content hash, renames it into its own plugins/, writes plugins.lock and
// rescans. No node needs the files copied to it.

// Host is what package installs need of the engine and its cluster side:
// functions the engine fills once, at New (engine/pkgapplyhost.go).
type Host struct {
	// ApplyAdmin records an admin change in the cluster's order and applies
	// it (engine/cluster); a "packages" change comes back to Apply.
	ApplyAdmin func(ctx context.Context, action, plugin string, payload any) (any, error)
	// ClusterOn: the nodes share a database and its change log.
	ClusterOn func() bool
	// Closing: the engine is shutting down.
	Closing func() bool
	// WithApplyLock runs fn while no admin change is being applied here.
	WithApplyLock func(fn func())
	// ReportNodes refreshes this node's row in vbwd.nodes.
	ReportNodes func(ctx context.Context)
	Rescan      func(ctx context.Context) (admin.RescanResult, error)
	Plugin      func(name string) (admin.PluginStatus, bool)
	SetEnabled  func(ctx context.Context, name string, enabled, cascade bool) error
}

// Config is what package installs read of the engine's options.
type Config struct {
	DB       *pgxpool.Pool // nil: a single node, archives are kept in memory
	Root     string
	Packages PackagePlanner // nil: the package endpoints answer 501
	Log      *slog.Logger
}

// Applier is one node's package installs: the engine, its options and the
// node's state.
type Applier struct {
	h        Host
	opts     Config
	packages *State
	log      *slog.Logger
}

// New makes the applier of the engine h with options opts and state st.
func New(h Host, opts Config, st *State) Applier {
	return Applier{h: h, opts: opts, packages: st, log: opts.Log}
}

// PackagePlanner resolves package requests for the admin API; pkgs.Planner
// implements it (cmd/vbwd serve wires it). Without one the package
// endpoints answer 501.
type PackagePlanner interface {
	PlanPackages(ctx context.Context, root, action string, req PackageRequest) (*PackagePlan, error)
}

// PackageRequest is the body of POST /admin/packages/{install,update,remove}.
type PackageRequest struct {
	Source string   `json:"source,omitempty"` // install: "<source>[@version]"; empty: plugins.lock
	Names  []string `json:"names,omitempty"`  // update: plugins (all when empty); remove: one
	Enable bool     `json:"enable,omitempty"` // install: enable what was installed
}

// PackageArchive is one plugin a plan writes: a .tar.gz holding <Name>/.
type PackageArchive struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	SHA256  string `json:"sha256"` // of Data
	Hash    string `json:"hash"`   // content hash of the unpacked directory
	Data    []byte `json:"-"`
}

// PackagePlan is a resolved request: archives to write (dependencies
// first), plugins to remove, plugins.lock afterwards, and the changes to
// report to the caller.
type PackagePlan struct {
	Archives []PackageArchive
	Remove   []string
	Lock     json.RawMessage
	Changes  any
}

// packagesChange is a "packages" change's payload in the change log.
type packagesChange struct {
	Archives []PackageArchive `json:"archives"`
	Remove   []string         `json:"remove,omitempty"`
	Lock     json.RawMessage  `json:"lock"`
	Enable   bool             `json:"enable,omitempty"`
}

const lockFileName = "plugins.lock"

// State is a node's side of cluster package installs.
type State struct {
	mu       sync.Mutex // one package change planned and applied at a time on this node
	local    sync.Map   // sha256 -> archive bytes, without a database
	healErrs sync.Map   // plugin -> why this node cannot restore it
}

// ServeAdmin is POST /admin/packages/{action}.
func (e Applier) ServeAdmin(w http.ResponseWriter, r *http.Request) {
	rw := web.AsRespWriter(w)
	action := chi.URLParam(r, "action")
	if action != "install" && action != "update" && action != "remove" {
		web.WriteError(rw, http.StatusNotFound, "no package action "+strconv.Quote(action)+" (install, update or remove)", nil)
		return
	}
	if e.opts.Packages == nil {
		web.WriteError(rw, http.StatusNotImplemented, "this engine was started without a package planner (vbwd serve has one)", nil)
		return
	}
	var req PackageRequest
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err == nil && len(bytes.TrimSpace(body)) > 0 {
		err = json.Unmarshal(body, &req)
	}
	if err != nil {
		web.WriteError(rw, http.StatusBadRequest, "bad request body: "+err.Error(), nil)
		return
	}
	e.packages.mu.Lock() // planned from this node's plugins.lock: the previous change must be applied first
	defer e.packages.mu.Unlock()
	plan, err := e.opts.Packages.PlanPackages(r.Context(), e.opts.Root, action, req)
	if err != nil {
		web.WriteError(rw, http.StatusUnprocessableEntity, err.Error(), nil)
		return
	}
	if len(plan.Archives) == 0 && len(plan.Remove) == 0 {
		// nothing to write (an update finding every package up to date)
		web.WriteJSON(w, http.StatusOK, map[string]any{"status": "unchanged", "changes": plan.Changes})
		return
	}
	ctx := context.WithoutCancel(r.Context())
	if err := e.storeArchives(ctx, plan.Archives); err != nil {
		web.WriteError(rw, http.StatusServiceUnavailable, "storing the archives: "+err.Error(), nil)
		return
	}
	defer e.dropLocalArchives(plan.Archives)
	res, err := e.h.ApplyAdmin(ctx, "packages", "", packagesChange{Archives: plan.Archives, Remove: plan.Remove, Lock: plan.Lock, Enable: req.Enable})
	if err != nil {
		admin.WriteAdminError(w, err, e.log)
		return
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"status": "applied", "changes": plan.Changes, "rescan": res})
}

// storeArchives puts the plan's archives where every node applying the
// change finds them: the database when nodes share one, else memory.
func (e Applier) storeArchives(ctx context.Context, as []PackageArchive) error {
	if !e.h.ClusterOn() {
		for _, a := range as {
			e.packages.local.Store(a.SHA256, a.Data)
		}
		return nil
	}
	batch := &pgx.Batch{}
	for _, a := range as {
		batch.Queue(`insert into vbwd.plugin_archives (sha256, name, version, hash, data) values ($1, $2, $3, $4, $5)
			on conflict (sha256) do nothing`, a.SHA256, a.Name, a.Version, a.Hash, a.Data)
	}
	return e.opts.DB.SendBatch(ctx, batch).Close()
}

func (e Applier) dropLocalArchives(as []PackageArchive) {
	for _, a := range as {
		e.packages.local.Delete(a.SHA256)
	}
}

// archiveData fetches an archive by sha256 and checks it.
func (e Applier) archiveData(ctx context.Context, sha string) ([]byte, error) {
	var data []byte
	if v, ok := e.packages.local.Load(sha); ok {
		data = v.([]byte)
	} else if e.opts.DB == nil {
		return nil, fmt.Errorf("archive %s: not found", sha)
	} else if err := e.opts.DB.QueryRow(ctx, "select data from vbwd.plugin_archives where sha256 = $1", sha).Scan(&data); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, fmt.Errorf("archive %s is not in vbwd.plugin_archives", sha)
		}
		return nil, err
	}
	if got := archive.SHA256(data); got != sha {
		return nil, fmt.Errorf("archive %s: its data hashes to %s; refused", sha, got)
	}
	return data, nil
}

// Apply applies a "packages" change on this node.
func (e Applier) Apply(ctx context.Context, raw []byte) (admin.RescanResult, error) {
	var p packagesChange
	if err := json.Unmarshal(raw, &p); err != nil {
		return admin.RescanResult{}, fmt.Errorf("packages change: %w", err)
	}
	if err := e.writePackages(ctx, p.Archives, p.Remove, p.Lock, ""); err != nil {
		return admin.RescanResult{}, err
	}
	if len(p.Remove) > 0 {
		if err := forgetInPluginsFile(e.opts.Root, p.Remove); err != nil {
			return admin.RescanResult{}, err
		}
	}
	res, err := e.h.Rescan(ctx)
	if err != nil || !p.Enable {
		return res, err
	}
	for _, a := range p.Archives { // dependencies first
		if st, ok := e.h.Plugin(a.Name); ok && st.State != admin.StateEnabled {
			if err := e.h.SetEnabled(ctx, a.Name, true, false); err != nil {
				return res, err
			}
			res.Enabled = append(res.Enabled, a.Name)
		}
	}
	return res, nil
}

// writePackages unpacks the archives this node's plugins/ does not hold
// already (same content hash), then renames them into plugins/ and the
// removed plugins out, and writes plugins.lock. A failure leaves plugins/
// as it was. keep, when set, receives the directories replaced.
func (e Applier) writePackages(ctx context.Context, as []PackageArchive, remove []string, lock []byte, keep string) error {
	root := e.opts.Root
	stage, err := os.MkdirTemp(root, ".vbwd-pkgs-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(stage)
	fresh := map[string]string{}
	for _, a := range as {
		if h, err := archive.DirHash(filepath.Join(root, "plugins", a.Name)); err == nil && h == a.Hash {
			continue
		}
		dir, err := e.unpackArchive(ctx, a, stage)
		if err != nil {
			return fmt.Errorf("package %s %s: %w", a.Name, a.Version, err)
		}
		fresh[a.Name] = dir
	}
	if err := swapPlugins(root, stage, fresh, remove, keep); err != nil {
		return err
	}
	if len(lock) > 0 {
		return spec.WriteFileAtomic(filepath.Join(root, lockFileName), append(bytes.TrimSpace(lock), '\n'), 0o644)
	}
	return nil
}

func (e Applier) unpackArchive(ctx context.Context, a PackageArchive, stage string) (string, error) {
	data, err := e.archiveData(ctx, a.SHA256)
	if err != nil {
		return "", err
	}
	out, err := os.MkdirTemp(stage, "unpack-")
	if err != nil {
		return "", err
	}
	if err := archive.Extract(bytes.NewReader(data), true, out, archive.Limits{}); err != nil {
		return "", err
	}
	if top, err := archive.TopDir(out); err != nil || top != a.Name {
		return "", fmt.Errorf("the archive holds %q, not %s/ (%v)", top, a.Name, err)
	}
	dir := filepath.Join(out, a.Name)
	if h, err := archive.DirHash(dir); err != nil || h != a.Hash {
		return "", fmt.Errorf("unpacked content hash %s, expected %s; refused (%v)", h, a.Hash, err)
	}
	return dir, nil
}

// swapPlugins renames the fresh directories into plugins/ and the removed
// ones out, putting everything back when a rename fails.
func swapPlugins(root, stage string, fresh map[string]string, remove []string, keep string) (err error) {
	old := filepath.Join(stage, "old")
	if err := os.MkdirAll(old, 0o755); err != nil {
		return err
	}
	names := append([]string(nil), remove...)
	for n := range fresh {
		names = append(names, n)
	}
	sort.Strings(names)
	type move struct{ from, to string }
	var done []move
	defer func() {
		if err != nil {
			for i := len(done) - 1; i >= 0; i-- {
				_ = os.Rename(done[i].to, done[i].from)
			}
		}
	}()
	mv := func(from, to string) error {
		if err := os.Rename(from, to); err != nil {
			return err
		}
		done = append(done, move{from, to})
		return nil
	}
	var replaced []string
	for _, n := range names {
		cur := filepath.Join(root, "plugins", n)
		if _, err := os.Lstat(cur); err == nil {
			if err := mv(cur, filepath.Join(old, n)); err != nil {
				return err
			}
			replaced = append(replaced, n)
		}
		if dir, ok := fresh[n]; ok {
			if err := mv(dir, cur); err != nil {
				return err
			}
		}
	}
	if keep != "" && len(replaced) > 0 {
		if err := os.MkdirAll(keep, 0o755); err == nil {
			stamp := strconv.FormatInt(time.Now().Unix(), 10)
			for _, n := range replaced {
				_ = os.Rename(filepath.Join(old, n), filepath.Join(keep, n+"-"+stamp))
			}
		}
	}
	return nil
}

// forgetInPluginsFile drops removed plugins from plugins.json.
func forgetInPluginsFile(root string, names []string) error {
	file := filepath.Join(root, "plugins.json")
	obj, err := spec.ReadJSONObject(file, "plugins.json") // a missing file: nothing to forget
	if err != nil {
		return err
	}
	ps, _ := obj["plugins"].(map[string]any)
	changed := false
	for _, n := range names {
		if _, ok := ps[n]; ok {
			delete(ps, n)
			changed = true
		}
	}
	if !changed {
		return nil
	}
	b, err := json.MarshalIndent(obj, "", "  ")
	if err != nil {
		return err
	}
	return spec.WriteFileAtomic(file, append(b, '\n'), 0o644)
}
