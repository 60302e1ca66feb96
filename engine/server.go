package engine

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// ServeOptions tune Serve.
type ServeOptions struct {
	// DrainTimeout bounds the graceful shutdown (in-flight requests, then
	// on_disable of every generation). Default 30s.
	DrainTimeout time.Duration
}

// Serve serves the engine's handler on ln until ctx is done, then shuts down
// gracefully: it stops accepting, drains in-flight requests, and retires
// every generation (on_disable runs once each).
func (e *Engine) Serve(ctx context.Context, ln net.Listener, so ServeOptions) error {
	if so.DrainTimeout <= 0 {
		so.DrainTimeout = 30 * time.Second
	}
	srv := &http.Server{
		Handler:           e.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          nil,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	e.log.Info("serving", "addr", ln.Addr().String())
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	e.log.Info("shutting down: draining requests")
	e.closeStreams() // long-lived event streams would hold the drain open
	sctx, cancel := context.WithTimeout(context.Background(), so.DrainTimeout)
	defer cancel()
	herr := srv.Shutdown(sctx)
	eerr := e.Shutdown(sctx)
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	return errors.Join(serveErr, herr, eerr)
}
