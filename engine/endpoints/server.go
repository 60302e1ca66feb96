package endpoints

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// ServeOptions tune Serve.
type ServeOptions struct {
	// DrainTimeout bounds the graceful shutdown (in-flight requests, then
	// on_disable of every generation). Default 30s.
	DrainTimeout time.Duration
	// ReadHeaderTimeout bounds reading a request's headers. Default 10s.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, body included, so a slow
	// client cannot hold a generation in flight. Default 60s. Event streams
	// lift it once their handler answered.
	ReadTimeout time.Duration
	// IdleTimeout bounds an idle keep-alive connection. Default 2m.
	IdleTimeout time.Duration
}

func (so *ServeOptions) setDefaults() {
	if so.DrainTimeout <= 0 {
		so.DrainTimeout = 30 * time.Second
	}
	if so.ReadHeaderTimeout <= 0 {
		so.ReadHeaderTimeout = 10 * time.Second
	}
	if so.ReadTimeout <= 0 {
		so.ReadTimeout = 60 * time.Second
	}
	if so.IdleTimeout <= 0 {
		so.IdleTimeout = 2 * time.Minute
	}
}

// Engine is what Serve runs: its handler, the end of its event streams and
// its shutdown.
type Engine struct {
	Handler      http.Handler
	CloseStreams func()
	Shutdown     func(ctx context.Context) error
	Log          *slog.Logger
}

// Serve serves the engine's handler on ln until ctx is done, then shuts down
// gracefully: it stops accepting, drains in-flight requests, and retires
// every generation (on_disable runs once each).
func Serve(ctx context.Context, ln net.Listener, so ServeOptions, e Engine) error {
	so.setDefaults()
	srv := &http.Server{
		Handler:           e.Handler,
		ReadHeaderTimeout: so.ReadHeaderTimeout,
		ReadTimeout:       so.ReadTimeout,
		IdleTimeout:       so.IdleTimeout,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	e.Log.Info("serving", "addr", ln.Addr().String())
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	e.Log.Info("shutting down: draining requests")
	e.CloseStreams() // long-lived event streams would hold the drain open
	sctx, cancel := context.WithTimeout(context.Background(), so.DrainTimeout)
	defer cancel()
	herr := srv.Shutdown(sctx)
	eerr := e.Shutdown(sctx)
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	return errors.Join(serveErr, herr, eerr)
}
