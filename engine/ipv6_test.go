package engine

import (
	"io"
	"net"
	"testing"
)

// Migrations run over an IPv6 address: the engine's pool and dbmate reach
// PostgreSQL through [::1] (a loopback relay to the test server).
func TestMigrations_IPv6Host(t *testing.T) {
	_, raw := newDB(t)
	u := mustURL(t, raw)
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	t.Cleanup(func() { ln.Close() })
	go forward(ln, u.Host)
	u.Host = ln.Addr().String() // [::1]:port
	pool := openPool(t, u.String())
	root := writeRoot(t, files{
		"plugins/m/init.lua":                          pluginSrc("m", "", ""),
		"plugins/m/migrations/20260101000001_one.sql": migFile("one", "create table m_items (id int);", "drop table m_items;"),
	})
	te := startEngine(t, root, func(o *Options) { o.DB = pool })
	if st := te.status(t, "m"); st.State != StateEnabled {
		t.Fatalf("m over %s is %s: %s", u.Host, st.State, st.Error)
	}
}

// forward forwards every connection accepted on ln to target.
func forward(ln net.Listener, target string) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			s, err := net.Dial("tcp", target)
			if err != nil {
				return
			}
			defer s.Close()
			go func() { _, _ = io.Copy(s, c); s.Close() }()
			_, _ = io.Copy(c, s)
		}()
	}
}
