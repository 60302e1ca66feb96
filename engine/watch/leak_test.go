package watch

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vbwd-platform/vbwd-engine/engine/admin"
)

// countingHost answers the watcher as an engine with one enabled plugin
// would, counting the reloads and rescans it is asked for.
type countingHost struct {
	reloads, rescans atomic.Int64
	reloaded         chan struct{} // gets a value per reload, when there is room
}

func (h *countingHost) Plugin(name string) (admin.PluginStatus, bool) {
	return admin.PluginStatus{Name: name, State: admin.StateEnabled}, name == "p"
}

func (h *countingHost) Rescan(context.Context) (admin.RescanResult, error) {
	h.rescans.Add(1)
	return admin.RescanResult{}, nil
}

func (h *countingHost) Reload(_ context.Context, name string) (admin.ReloadResult, error) {
	h.reloads.Add(1)
	select {
	case h.reloaded <- struct{}{}:
	default:
	}
	return admin.ReloadResult{Plugin: name}, nil
}

func (h *countingHost) DebugMode(string) bool { return true }

// Starting and stopping the watcher repeatedly while files change under it
// (events in flight, directories created and removed) leaves no goroutine
// behind: fsnotify's reader and the drain of closeWatcher both end.
// (With fsnotify v1.10.1 it also passes without closeWatcher's drain: its
// reader selects on the watcher's done channel when it sends, and Close
// closes that first; it fails when the watcher is not closed at all.)
func TestRun_StartStopLeavesNoGoroutine(t *testing.T) {
	defer goleak.VerifyNone(t)
	root := t.TempDir()
	dir := filepath.Join(root, "plugins", "p")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	h := &countingHost{reloaded: make(chan struct{}, 1)}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for i := 0; i < 10; i++ {
		if err := startStop(h, root, dir, log, i); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
}

// startStop runs the watcher, waits until a change reached the host (it
// watches), then stops it while files keep changing under it: the reader
// may be blocked sending an event that nobody reads any more. Everything it
// started has ended when it returns.
func startStop(h *countingHost, root, dir string, log *slog.Logger, i int) error {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, h, root, log, true) }()
	defer func() {
		cancel()
		<-done
	}()
	// the watcher is up once a write is reloaded (the write is retried:
	// one made before addTree is missed)
	var seen bool
	for try := 0; try < 40 && !seen; try++ {
		_ = os.WriteFile(filepath.Join(dir, "init.lua"), []byte(fmt.Sprint("-- ", i, try)), 0o644)
		select {
		case <-h.reloaded:
			seen = true
		case <-time.After(2 * Debounce):
		}
	}
	if !seen {
		return fmt.Errorf("no reload after 40 writes")
	}
	stop, churned := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // churn: files written, directories made and removed
		defer wg.Done()
		for j := 0; ; j++ {
			select {
			case <-stop:
				return
			default:
			}
			if j == 50 {
				close(churned)
			}
			_ = os.WriteFile(filepath.Join(dir, "init.lua"), []byte(fmt.Sprint("-- ", i, j)), 0o644)
			sub := filepath.Join(root, "plugins", fmt.Sprint("new", j%3))
			_ = os.MkdirAll(filepath.Join(sub, "lib"), 0o755)
			_ = os.RemoveAll(sub)
		}
	}()
	<-churned
	cancel()
	err := <-done
	done <- err // for the deferred receive
	close(stop)
	wg.Wait()
	return err
}
