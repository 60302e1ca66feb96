// Package watch reloads plugins when their files change (serve --watch,
// debug_mode). It reaches the engine through Host and never imports it.
package watch

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/vbwd-platform/vbwd-engine/engine/admin"
	"github.com/vbwd-platform/vbwd-engine/engine/errs"
)

// Debounce is how long a plugin's files must be quiet before a reload:
// an editor's save or a deploy touches several files.
const Debounce = 250 * time.Millisecond

// Host is what watching needs of the engine. The engine implements it
// with an adapter (engine/watchhost.go).
type Host interface {
	Plugin(name string) (admin.PluginStatus, bool)
	Rescan(ctx context.Context) (admin.RescanResult, error)
	Reload(ctx context.Context, name string) (admin.ReloadResult, error)
	// DebugMode reports whether a serving plugin's config has debug_mode: true.
	DebugMode(name string) bool
}

// watcher is one Run: the engine, its plugins directory and its log.
type watcher struct {
	h    Host
	root string
	log  *slog.Logger
}

// Run reloads plugins when their files change, debounced, with the same
// rollback as Reload (a broken save keeps the old generation serving and is
// logged with file:line). With all set (serve --watch) every plugin is
// watched and new plugin directories trigger a rescan; otherwise only
// plugins whose config has "debug_mode": true. It returns when ctx is done.
func Run(ctx context.Context, h Host, root string, log *slog.Logger, all bool) error {
	return watcher{h: h, root: root, log: log}.run(ctx, all)
}

func (e watcher) run(ctx context.Context, all bool) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	defer closeWatcher(w)
	pluginsDir := filepath.Join(e.root, "plugins")
	if err := addTree(w, pluginsDir); err != nil {
		return err
	}
	d := &debouncer{timers: map[string]*time.Timer{}}
	defer d.stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-w.Errors:
			e.log.Warn("watch", "err", err)
		case ev := <-w.Events:
			rel, err := filepath.Rel(pluginsDir, ev.Name)
			if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
				continue
			}
			if ev.Op&fsnotify.Create != 0 {
				if st, err := os.Stat(ev.Name); err == nil && st.IsDir() {
					_ = addTree(w, ev.Name)
				}
			}
			name := strings.Split(filepath.ToSlash(rel), "/")[0]
			base := filepath.Base(ev.Name)
			if strings.HasPrefix(base, ".") || strings.HasSuffix(base, "~") {
				continue // editor and atomic-write temp files
			}
			d.after(name, func() { e.watchReload(ctx, name, all) })
		}
	}
}

// closeWatcher closes w while draining its channels: fsnotify's reader can
// hold the watcher's lock while it blocks sending an error (a watched
// directory renamed away by a package install, say) that nobody reads any
// more, and Close would wait for that lock forever — a goroutine leak at
// every shutdown that followed such an error.
func closeWatcher(w *fsnotify.Watcher) {
	done := make(chan struct{})
	go func() {
		errs, evs := w.Errors, w.Events
		for {
			select {
			case <-done:
				return
			case _, ok := <-errs:
				if !ok {
					errs = nil
				}
			case _, ok := <-evs:
				if !ok {
					evs = nil
				}
			}
		}
	}()
	_ = w.Close()
	close(done)
}

func (e watcher) watchReload(ctx context.Context, name string, all bool) {
	if ctx.Err() != nil {
		return
	}
	st, known := e.h.Plugin(name)
	if !known {
		if all {
			if res, err := e.h.Rescan(ctx); err != nil {
				e.log.Error("watch: rescan failed", "err", err)
			} else {
				e.log.Info("watch: rescanned", "added", res.Added, "enabled", res.Enabled, "errors", res.Errors)
			}
		}
		return
	}
	if !all && !e.h.DebugMode(name) {
		return
	}
	if st.State != admin.StateEnabled && !all {
		return
	}
	res, err := e.h.Reload(ctx, name)
	var pe *errs.PluginError
	switch {
	case errors.As(err, &pe):
		e.log.Error("watch: reload failed, the previous generation keeps serving", "plugin", name,
			"src", pe.Location(), "err", pe.Err)
	case err != nil:
		e.log.Error("watch: reload failed", "plugin", name, "err", err)
	case !res.Unchanged:
		e.log.Info("watch: reloaded", "plugin", name, "gen", res.Generation)
	}
}

// addTree watches dir and every directory below it (fsnotify is not
// recursive), skipping hidden ones.
func addTree(w *fsnotify.Watcher, dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		if p != dir && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		return w.Add(p)
	})
}

// debouncer runs the last function given for a key once the key has been
// quiet for Debounce.
type debouncer struct {
	mu     sync.Mutex
	timers map[string]*time.Timer
}

func (d *debouncer) after(key string, fn func()) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if t, ok := d.timers[key]; ok {
		t.Stop()
	}
	d.timers[key] = time.AfterFunc(Debounce, fn)
}

func (d *debouncer) stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, t := range d.timers {
		t.Stop()
	}
}
