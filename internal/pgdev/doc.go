// Package pgdev launches a local PostgreSQL cluster from the system's
// PostgreSQL server binaries: the embedded default database of `vbwd serve`
// when no DATABASE_URL is set, and the throwaway server of Go tests (see
// internal/testpg).
//
// Start initializes the data directory when it holds no cluster yet (initdb,
// or a copy of a cached template cluster), starts a postmaster on a loopback
// port, waits until it accepts connections and creates the requested database.
// When a postmaster already runs on the data directory, Start reuses it and
// the returned Cluster's Stop leaves it running. A file lock next to the data
// directory (<datadir>.lock) serializes concurrent Starts, so two processes
// starting on the same directory end up sharing one server.
//
// Run as root, every PostgreSQL process runs as the postgres OS user (initdb
// and postgres refuse root) and the data directory belongs to that user. When
// that user cannot reach the data directory (an ancestor denies it search
// permission, e.g. a 0700 home directory), Start logs a warning and uses a
// per-project directory under the system temp dir instead; DataDir reports
// the directory actually used.
//
// The postmaster runs in its own process group, so a Ctrl-C at the terminal
// reaches the engine only and the engine stops PostgreSQL after draining. Its
// output goes to <datadir>.log (the previous run's log is kept as
// <datadir>.log.1); the last lines are quoted in the error when it fails to
// start.
package pgdev
