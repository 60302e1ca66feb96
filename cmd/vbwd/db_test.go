package main

import "testing"

// The engine's pool (and so each plugin's, which copies it) keeps small
// statement caches and no description cache, unless the URL asks for them.
func TestPoolConfig_SmallStatementCaches(t *testing.T) {
	for _, c := range []struct {
		url         string
		stmt, descr int
	}{
		{"postgres://u@localhost:5432/db", stmtCacheCapacity, 0},
		{"postgres://u@localhost:5432/db?statement_cache_capacity=64", 64, 0},
		{"postgres://u@localhost:5432/db?default_query_exec_mode=cache_describe", stmtCacheCapacity, 512},
		{"postgres://u@localhost:5432/db?description_cache_capacity=32", stmtCacheCapacity, 32},
	} {
		cfg, err := poolConfig(c.url)
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.ConnConfig.StatementCacheCapacity; got != c.stmt {
			t.Errorf("%s: statement cache %d, want %d", c.url, got, c.stmt)
		}
		if got := cfg.ConnConfig.DescriptionCacheCapacity; got != c.descr {
			t.Errorf("%s: description cache %d, want %d", c.url, got, c.descr)
		}
	}
	if _, err := poolConfig("postgres://u@localhost:notaport/db"); err == nil {
		t.Error("a bad URL gave no error")
	}
}
