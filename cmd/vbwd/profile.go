package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime"
	rpprof "runtime/pprof"
	"time"

	"github.com/spf13/cobra"
)

// profileFlags: CPU and allocation profiles of a serving engine, for
// finding per-request cost (docs/ops.md "Profiling").
type profileFlags struct {
	cpuProfile string // written from start to shutdown
	memProfile string // allocation profile written at shutdown
	pprofAddr  string // net/http/pprof on its own listener
}

func (p *profileFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&p.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to this file (read it with go tool pprof)")
	fl.StringVar(&p.memProfile, "memprofile", "", "write an allocation profile to this file at shutdown")
	fl.StringVar(&p.pprofAddr, "pprof", "", "serve net/http/pprof on this address (e.g. 127.0.0.1:6060; never a public one)")
}

// start begins what the flags ask for; stop ends it (writing the files).
func (p *profileFlags) start(log *slog.Logger) (stop func(), err error) {
	var stops []func()
	stop = func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	if p.cpuProfile != "" {
		f, err := os.Create(p.cpuProfile)
		if err != nil {
			return stop, fmt.Errorf("--cpuprofile: %w", err)
		}
		if err := rpprof.StartCPUProfile(f); err != nil {
			f.Close()
			return stop, fmt.Errorf("--cpuprofile: %w", err)
		}
		stops = append(stops, func() { rpprof.StopCPUProfile(); f.Close() })
	}
	if p.memProfile != "" {
		runtime.MemProfileRate = 64 << 10 // finer than the default 512 KiB: per-request allocations show
		stops = append(stops, func() {
			f, err := os.Create(p.memProfile)
			if err != nil {
				log.Error("--memprofile", "err", err)
				return
			}
			defer f.Close()
			if err := rpprof.Lookup("allocs").WriteTo(f, 0); err != nil {
				log.Error("--memprofile", "err", err)
			}
		})
	}
	if p.pprofAddr != "" {
		ln, err := net.Listen("tcp", p.pprofAddr)
		if err != nil {
			stop()
			return func() {}, fmt.Errorf("--pprof: %w", err)
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Warn("pprof listener stopped", "err", err)
			}
		}()
		log.Info("pprof listening", "addr", ln.Addr().String())
		stops = append(stops, func() { _ = srv.Close() })
	}
	return stop, nil
}
