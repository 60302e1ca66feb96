package pgdev

import "errors"

var (
	// ErrNoBinaries reports that initdb and postgres were not found. Its
	// message tells the user how to get them.
	ErrNoBinaries = errors.New("PostgreSQL server binaries (initdb, postgres) not found: " +
		"install them with `apt-get install postgresql` (Debian/Ubuntu), " +
		"or set VBWD_PG_BIN to their directory, " +
		"or set DATABASE_URL to use an existing server")

	// ErrNoPostgresUser reports that this process runs as root but the
	// system has no postgres user to run PostgreSQL as.
	ErrNoPostgresUser = errors.New("running as root needs a `postgres` OS user to run PostgreSQL as " +
		"(installing the postgresql package creates it)")

	// ErrNotReady reports a postmaster that did not accept connections in time.
	ErrNotReady = errors.New("postgres did not accept connections in time")

	// errPortInUse reports a postmaster that could not bind its port.
	errPortInUse = errors.New("port already in use")
)
