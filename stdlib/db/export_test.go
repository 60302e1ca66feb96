package db

// ServerURL is the URL of the test server's own database, for the
// examples of package db_test (which cannot see srv).
func ServerURL() string { return srv.URL() }
