package ratelimit

import (
	"context"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vbwd-platform/vbwd-engine/internal/testpg"
)

var pg *testpg.Server

func TestMain(m *testing.M) { testpg.Main(m, &pg) }

func TestParse(t *testing.T) {
	for s, want := range map[string]Limit{
		"5/m": {5, time.Minute}, "10/s": {10, time.Second}, "100/h": {100, time.Hour}, " 7/d ": {7, 24 * time.Hour},
	} {
		got, err := Parse(s)
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %v, %v", s, got, err)
		}
	}
	for _, bad := range []string{"", "5", "5/", "/m", "0/m", "-1/s", "5/w", "x/m", "5/min", "2000000/s"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
	if s := (Limit{5, time.Minute}).String(); s != "5/m" {
		t.Errorf("String = %q", s)
	}
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// The N+1st hit of a window is refused with the time left in the window; a
// new window starts afresh; keys are counted apart.
func testLimiter(t *testing.T, newStore func() Store) {
	c := &clock{now: time.Date(2026, 1, 1, 10, 0, 20, 0, time.UTC)}
	rl := New(newStore(), c.Now)
	ctx := context.Background()
	lim := Limit{N: 3, Window: time.Minute}
	for i := 1; i <= 3; i++ {
		if ok, _, err := rl.Allow(ctx, "login:ip:1.2.3.4", lim); !ok || err != nil {
			t.Fatalf("hit %d refused: %v", i, err)
		}
	}
	ok, wait, err := rl.Allow(ctx, "login:ip:1.2.3.4", lim)
	if ok || err != nil || wait != 40*time.Second {
		t.Fatalf("4th hit: ok %v, wait %v, %v", ok, wait, err)
	}
	if ok, _, _ := rl.Allow(ctx, "login:ip:5.6.7.8", lim); !ok {
		t.Fatal("another key was refused")
	}
	c.Advance(40 * time.Second) // 10:01:00, a new window
	if ok, _, _ := rl.Allow(ctx, "login:ip:1.2.3.4", lim); !ok {
		t.Fatal("the next window still refuses")
	}
}

func TestLimiter_Mem(t *testing.T) {
	testLimiter(t, func() Store { return NewMemStore() })
}

func newPGStore(t *testing.T, url string) *PGStore {
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := pool.Exec(context.Background(), SchemaSQL); err != nil {
		t.Fatal(err)
	}
	return NewPGStore(pool)
}

func TestLimiter_PG(t *testing.T) {
	url := pg.NewDatabase(t)
	testLimiter(t, func() Store { return newPGStore(t, url) })
}

// Two engines (two pools on one database) share their counts, also when
// hitting at once: the limit holds across nodes.
func TestPGStore_SharedAcrossNodes(t *testing.T) {
	url := pg.NewDatabase(t)
	c := &clock{now: time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)}
	a, b := New(newPGStore(t, url), c.Now), New(newPGStore(t, url), c.Now)
	lim := Limit{N: 10, Window: time.Hour}
	var mu sync.Mutex
	allowed := 0
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rl := a
			if i%2 == 1 {
				rl = b
			}
			ok, _, err := rl.Allow(context.Background(), "k", lim)
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				allowed++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if allowed != 10 {
		t.Fatalf("%d of 30 allowed across two nodes, limit 10", allowed)
	}
}

// A store that cannot reach its database allows the request and says why.
func TestLimiter_StoreDownAllows(t *testing.T) {
	pool, err := pgxpool.New(context.Background(), "postgres://nobody@127.0.0.1:1/none?connect_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	ok, _, err := New(NewPGStore(pool), nil).Allow(context.Background(), "k", Limit{1, time.Second})
	if !ok || err == nil {
		t.Fatalf("ok %v, err %v", ok, err)
	}
}

func TestClientIP(t *testing.T) {
	proxies, err := ParseProxies([]string{"10.0.0.0/8", "::1"})
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		remote, xff string
		ps          Proxies
		want        string
	}{
		"no proxies: the peer, XFF ignored": {"203.0.113.5:4000", "1.1.1.1", nil, "203.0.113.5"},
		"untrusted peer: XFF ignored":       {"203.0.113.5:4000", "1.1.1.1", proxies, "203.0.113.5"},
		"trusted peer: the last hop":        {"10.0.0.2:4000", "198.51.100.7", proxies, "198.51.100.7"},
		"spoofed left entries do not count": {"10.0.0.2:4000", "6.6.6.6, 198.51.100.7", proxies, "198.51.100.7"},
		"chain of proxies":                  {"10.0.0.2:4000", "198.51.100.7, 10.1.1.1", proxies, "198.51.100.7"},
		"IPv6 loopback proxy":               {"[::1]:4000", "198.51.100.8", proxies, "198.51.100.8"},
		"trusted peer without XFF":          {"10.0.0.2:4000", "", proxies, "10.0.0.2"},
		"malformed hop stops the walk":      {"10.0.0.2:4000", "198.51.100.7, garbage", proxies, "10.0.0.2"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.remote
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		if got := tc.ps.ClientIP(r); got != tc.want {
			t.Errorf("%s: %s, want %s", name, got, tc.want)
		}
	}
	if _, err := ParseProxies([]string{"nope"}); err == nil {
		t.Error("a bad proxy was accepted")
	}
}

// BenchmarkPGStore_Hit is the cost a rate-limited route adds: one UPSERT.
func BenchmarkPGStore_Hit(b *testing.B) {
	url := pg.NewDatabase(b)
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(context.Background(), SchemaSQL); err != nil {
		b.Fatal(err)
	}
	rl := New(NewPGStore(pool), nil)
	lim := Limit{N: MaxN, Window: time.Hour}
	b.RunParallel(func(p *testing.PB) {
		i := 0
		for p.Next() {
			i++
			if _, _, err := rl.Allow(context.Background(), "k"+strconv.Itoa(i%64), lim); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
