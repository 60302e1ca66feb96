#!/usr/bin/env bash
# ensure-postgres.sh makes sure the PostgreSQL server binaries (initdb,
# postgres) that vbwd's embedded default database and its tests launch are
# installed. It searches like internal/pgdev: $VBWD_PG_BIN, the newest
# /usr/lib/postgresql/*/bin, the directories of initdb/postgres on PATH,
# /usr/local/pgsql/bin. Found: prints nothing, exits 0. Missing: installs
# the postgresql package when running as root with apt-get, else explains
# how to get them and exits 1.
set -euo pipefail

has_binaries() {
	[[ -x "$1/initdb" && -x "$1/postgres" && -f "$1/initdb" && -f "$1/postgres" ]]
}

find_binaries() {
	if [[ -n "${VBWD_PG_BIN:-}" ]]; then
		has_binaries "$VBWD_PG_BIN"
		return
	fi
	local dir cmd
	# Newest major version first (sort -V orders 9.6 before 10).
	while IFS= read -r dir; do
		has_binaries "$dir" && return 0
	done < <(compgen -G '/usr/lib/postgresql/*/bin' | sort -rV || true)
	for cmd in initdb postgres; do
		if dir=$(command -v "$cmd" 2>/dev/null) && has_binaries "$(dirname "$dir")"; then
			return 0
		fi
	done
	has_binaries /usr/local/pgsql/bin
}

install_hint() {
	cat >&2 <<'HINT'
PostgreSQL server binaries (initdb, postgres) not found. Either:
  - install them:            sudo apt-get install postgresql   (Debian/Ubuntu)
  - point at them:           export VBWD_PG_BIN=/path/to/postgresql/bin
  - use an existing server:  export DATABASE_URL=postgres://...            (vbwd serve)
                             export VBWD_TEST_DATABASE_URL=postgres://...  (go test)
HINT
}

find_binaries && exit 0

if [[ -n "${VBWD_PG_BIN:-}" ]]; then
	echo "VBWD_PG_BIN=$VBWD_PG_BIN holds no initdb and postgres." >&2
	install_hint
	exit 1
fi

if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
	echo "PostgreSQL server binaries not found: installing the postgresql package..." >&2
	apt-get update >&2
	# Debian's postinst creates and tries to start a system cluster (15/main);
	# without an init system that start may fail. vbwd does not use that
	# cluster, so only the re-check below decides.
	DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql >&2 || true
	find_binaries && exit 0
	echo "installing postgresql did not provide initdb and postgres." >&2
fi

install_hint
exit 1
