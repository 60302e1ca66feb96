// Package testpg gives Go tests a real PostgreSQL server: the one named by
// VBWD_TEST_DATABASE_URL when set, else a throwaway cluster launched with
// internal/pgdev (not durable: fsync off) in a fresh temp directory that is
// removed when the server stops. Each test takes its own empty database.
//
//	var srv *testpg.Server
//
//	func TestMain(m *testing.M) { testpg.Main(m, &srv) }
//
//	func TestThing(t *testing.T) {
//		pool, err := pgxpool.New(ctx, srv.NewDatabase(t))
//		...
//	}
//
// Starting a cluster is cheap: initdb runs once per machine and PostgreSQL
// major version into a cached template (<tmp>/vbwd-testpg-template-<major>,
// with a -uid<uid> suffix for non-root users) that each throwaway cluster
// copies. Missing PostgreSQL binaries make Main
// fail with instructions rather than skip the tests. Clusters left behind by
// test processes that died without stopping them (a -timeout panic, a kill)
// are stopped and removed by the next Start.
package testpg
