package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vbwd-platform/vbwd-engine/engine/records"
)

// Shutdown retires every generation, dependents first: in-flight calls
// drain (each generation bounded by Options.DrainTimeout), on_disable runs
// once per generation, pools close; background loops stop and are waited
// for. Stop the HTTP server first so no new requests arrive.
func (e *Engine) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	if e.stopped {
		e.mu.Unlock()
		return nil
	}
	e.stopped = true
	e.up.Store(false)
	if e.migr != nil {
		// the plugins' own database pools, after the generations retired
		// (defers run last-in first-out)
		defer e.migr.Close()
	}
	e.closing.Store(true)
	e.relay.Close()
	e.wakeEvents.Store(nil) // the workers stop: what still publishes notifies the other engines
	close(e.quit)
	e.jwt.Close() // the identity providers' key refreshes
	e.mu.Unlock()
	// The cluster listener may be applying a change (it needs e.mu, and
	// finds the engine stopped): wait for it outside the lock, so that no
	// heartbeat can re-insert this node's row after the delete below.
	e.cluster.Wait()
	if e.opts.DB != nil && e.started {
		dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		e.cluster.Forget(dctx)
		cancel()
	}
	e.mu.Lock()
	// New requests now find no plugin route (503 while shutting down).
	gens := e.snap.Load().gens
	empty, err := e.buildSnapshot(nil, nil)
	if err != nil {
		e.mu.Unlock()
		return err
	}
	e.snap.Store(empty)
	var list []*Generation
	for n, g := range gens {
		list = append(list, g)
		e.plugins[n].Gen, e.plugins[n].State = nil, StateDisabled
	}
	e.publishView()
	e.mu.Unlock()
	var errs []error
	for _, g := range records.DependentsFirst(list) {
		if err := g.Retire(e.opts.DrainTimeout); err != nil {
			errs = append(errs, fmt.Errorf("plugin %s: %w", g.Plugin, err))
		}
	}
	e.retiring.Wait()
	return errors.Join(errs...)
}

// abortStart undoes a failed Start under e.mu: background loops stop and
// are waited for, serving generations retire.
func (e *Engine) abortStart() {
	e.stopped = true
	e.closing.Store(true)
	e.relay.Close()
	e.wakeEvents.Store(nil)
	close(e.quit)
	e.cluster.Wait()
	gens := e.snap.Load().gens
	empty, _ := e.buildSnapshot(nil, nil)
	e.snap.Store(empty)
	var list []*Generation
	for _, g := range gens {
		list = append(list, g)
	}
	for _, g := range records.DependentsFirst(list) {
		_ = g.Retire(e.opts.DrainTimeout)
		e.plugins[g.Plugin].Gen, e.plugins[g.Plugin].State = nil, StateDisabled
	}
	e.retiring.Wait()
	if e.migr != nil {
		e.migr.Close() // the plugins' own database pools
	}
}
