# vbwd — the two commands are `make run` and `make test`.
GO      ?= go
BIN     := bin/vbwd
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: all build run test test-go test-lua fuzz-short bench extbench lint lint-lua fmt vet postgres chromium wrk release clean

all: build

# Static, as the release archives are (scripts/release.sh): no libc mapped
# into the process (2.5 MiB less resident memory), no C toolchain needed.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/vbwd

# Serve the shipped plugins on the embedded default database (no DATABASE_URL:
# a local PostgreSQL cluster under .data/postgres), with their demo data and
# printed demo tokens (development secrets unless you set your own).
run: postgres build
	VBWD_JWT_SECRET=$${VBWD_JWT_SECRET:-vbwd-dev-jwt-secret} VBWD_ADMIN_TOKEN=$${VBWD_ADMIN_TOKEN:-vbwd-dev-admin-token} \
	  ./$(BIN) serve --root . --populate --demo-tokens

test: postgres chromium wrk test-go test-lua lint-lua fuzz-short

test-go:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 15m ./...

# Every shipped plugin's tests/*_test.lua (and the plugin guide's example
# plugins), run by the engine's test runner.
test-lua: build
	./$(BIN) test --root .
	./$(BIN) test --root docs/examples
	./$(BIN) test --root docs/examples --count 20 webhook

# Every fuzz target for FUZZTIME, one after another (their seeds and
# testdata/fuzz corpora already run as tests in test-go; this looks further).
# A failure prints the input and writes it under the package's testdata/fuzz.
# A count, not a duration: with a duration, Go 1.26's fuzz coordinator can
# fail a target with a bare "context deadline exceeded" when the time runs
# out mid-execution (golang/go#75804, fixed in Go 1.27), which a loaded CI
# machine hits.
FUZZTIME ?= 1000x
FUZZ_TARGETS := engine:FuzzManifest engine:FuzzRootJSON engine:FuzzConfig engine:FuzzRoutePattern \
	internal/luaconv:FuzzDecodeJSON internal/luaconv:FuzzAppendString \
	internal/luaconv:FuzzGoRoundTrip internal/luaconv:FuzzLuaToJSON pkgs/archive:FuzzExtract

fuzz-short:
	@for t in $(FUZZ_TARGETS); do \
	  pkg=./$${t%%:*}; name=$${t##*:}; echo "fuzz $$name ($(FUZZTIME))"; \
	  out=$$($(GO) test -run "^$$name\$$" -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) -parallel 2 $$pkg 2>&1) || { echo "$$out"; exit 1; }; \
	done

bench: postgres build wrk
	$(GO) test -run '^$$' -bench 'StateBuild|PoolRun|Dispatch|HTTPInProcess' -benchmem -benchtime 2s ./engine/ | tee bench.out
	$(GO) test -run '^$$' -bench 'Reload500Lines' -benchtime 3s ./engine/ | tee -a bench.out
	$(GO) test -run '^$$' -bench 'EmitPerHandler|DurableDelivery|DICall' -benchtime 2s ./engine/ | tee -a bench.out
	$(GO) test -run '^$$' -bench 'QueryOne|ScanRow|CallOverhead' -benchmem -benchtime 2s -count 3 ./stdlib/db/ | tee -a bench.out
	@echo "== summary =="
	@awk '/^BenchmarkStateBuild/ {printf "VM creation from shared protos: %.1f us per state\n", $$3/1000} \
	      /^BenchmarkPoolRun/    {printf "pool borrow+return: %.0f ns\n", $$3} \
	      /^BenchmarkDispatch/   {printf "dispatch overhead (borrow, req table, call, response): %.2f us (goal <= 5)\n", $$3/1000} \
	      /^BenchmarkReload500Lines/ {printf "reload of a 500-line plugin, pool of 8: p50 %s ms, p95 %s ms (goal p50 <= 50)\n", $$5, $$7} \
	      /^BenchmarkEmitPerHandler/ {for (i = 4; i < NF; i++) if ($$(i+1) == "ns/handler") printf "sync emit %s: %.2f us per handler (goal <= 5)\n", $$1, $$i/1000} \
	      /^BenchmarkDurableDelivery/ {for (i = 4; i < NF; i++) if ($$(i+1) == "events/s") printf "durable delivery %s: %.0f events/s (goal >= 5000)\n", $$1, $$i} \
	      /^BenchmarkDICall/ {printf "DI call %s: %.2f us (goal <= 10)\n", $$1, $$3/1000} \
	      /^BenchmarkQueryOneLua/ {lua += $$5; nl++} /^BenchmarkQueryOnePgx/ {pgx += $$5; np++} \
	      /^BenchmarkCallOverhead/ {call += $$3; nc++} /^BenchmarkScanRow/ {scan += $$3; ns++} \
	      END { if (nl && np) printf "db.query_one overhead beyond pgx: %.2f us CPU per call (lua %.1f - pgx %.1f, mean of %d; goal <= 10)\n", lua/nl - pgx/np, lua/nl, pgx/np, nl; \
	            if (nc && ns) printf "  of which Lua call + argument conversion %.2f us, row decoding %.2f us (no I/O)\n", call/nc/1000, scan/ns/1000 }' bench.out | tee bin/bench-summary.out
	$(GO) run ./cmd/vbwd-bench --root . | tee bin/bench-app.out
	$(MAKE) extbench BENCH_FIGURES=bin/bench-summary.out,bin/bench-app.out

# The external benchmark: wrk against `vbwd serve` and a native Go server,
# each started fresh per run, rounds interleaved, server CPU from /proc;
# then the "how cost grows" series (charts in docs/benchmarks/) and the
# shipped plugins' RSS; writes docs/benchmarks.md. BENCH_WRK_DURATION
# (default 10s) and BENCH_ROUNDS (default 3) shorten the headline,
# BENCH_ROUTES picks routes (none: only the series); BENCH_GROWTH=quick
# shrinks the series, off skips them; BENCH_SERIES picks some
# (routes,plugins,pool,payload,sse,drain,rss); BENCH_FIGURES names the
# in-process summaries to quote (make bench passes its own).
BENCH_WRK_DURATION ?= 10s
BENCH_ROUNDS ?= 3
BENCH_ROUTES ?=
BENCH_GROWTH ?= full
BENCH_SERIES ?=
BENCH_FIGURES ?=
extbench: postgres build wrk
	$(GO) build -o bin/vbwd-extbench ./cmd/vbwd-extbench
	./bin/vbwd-extbench --vbwd $(BIN) --duration $(BENCH_WRK_DURATION) --rounds $(BENCH_ROUNDS) \
	  $(if $(BENCH_ROUTES),--routes $(BENCH_ROUTES)) --growth $(BENCH_GROWTH) $(if $(BENCH_SERIES),--series $(BENCH_SERIES)) \
	  $(if $(BENCH_FIGURES),--figures $(BENCH_FIGURES)) --shipped-root . --out docs/benchmarks.md

lint: vet lint-lua
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: the files above need formatting"; exit 1; }

# luacheck over the shipped plugins (make test runs it: a warning fails).
lint-lua:
	@scripts/ensure-tool.sh luacheck lua-check
	luacheck plugins

vet:
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

# Archives a user can install: per OS/arch (TARGETS="linux/amd64 ..."), the
# static binary with the docs, the shipped and example plugins, and
# dist/SHA256SUMS (scripts/release.sh; docs/ops.md, "Install").
release:
	GO=$(GO) scripts/release.sh

# PostgreSQL server binaries: installed from Debian's packages when missing and
# running as root, else an explanation of how to get them.
postgres:
	@scripts/ensure-postgres.sh

# Debian's Chromium for the console's browser test (console/browser_test.go),
# installed when missing and running as root; without it that test skips.
chromium:
	@scripts/ensure-tool.sh chromium chromium || echo "no Chromium: the console's browser test will be skipped" >&2

# Debian's wrk for the benchmarks (and the external benchmark harness's own
# test, cmd/vbwd-extbench, which skips without it).
wrk:
	@scripts/ensure-tool.sh wrk wrk || echo "no wrk: make bench cannot run and the harness test will be skipped" >&2

clean:
	rm -rf bin bench.out dist
