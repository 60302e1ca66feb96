package shared

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func newTestBucket(t *testing.T) (*Bucket, *fakeClock) {
	t.Helper()
	c := newFakeClock()
	return NewStore(c.Now).Bucket("p"), c
}

func TestBucket_SetGet(t *testing.T) {
	b, _ := newTestBucket(t)
	values := []any{"s", int64(1), 2.5, true, []any{int64(1), "x"}, map[string]any{"a": nil}}
	for i, v := range values {
		key := fmt.Sprint("k", i)
		if err := b.Set(key, v, 0); err != nil {
			t.Fatalf("Set(%s): %v", key, err)
		}
		got, ok := b.Get(key)
		if !ok || !reflect.DeepEqual(got, v) {
			t.Errorf("Get(%s) = %v, %v, want %v", key, got, ok, v)
		}
	}
	if _, ok := b.Get("missing"); ok {
		t.Error("Get(missing) found a value")
	}
	if err := b.Set("k0", nil, 0); err != nil {
		t.Fatal(err)
	}
	if _, ok := b.Get("k0"); ok {
		t.Error("Set(nil) did not delete")
	}
}

func TestBucket_TTL(t *testing.T) {
	b, c := newTestBucket(t)
	start := c.Now()
	if err := b.Set("k", "v", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if exp, ok := b.Expiry("k"); !ok || !exp.Equal(start.Add(10*time.Second)) {
		t.Errorf("Expiry = %v, %v", exp, ok)
	}
	c.Advance(9 * time.Second)
	if _, ok := b.Get("k"); !ok {
		t.Error("expired early")
	}
	c.Advance(time.Second)
	if _, ok := b.Get("k"); ok {
		t.Error("not expired at its TTL")
	}
	if b.Len() != 0 {
		t.Error("Get did not remove the expired entry")
	}
	if err := b.Set("forever", 1, 0); err != nil {
		t.Fatal(err)
	}
	if exp, ok := b.Expiry("forever"); !ok || !exp.IsZero() {
		t.Errorf("Expiry(forever) = %v, %v", exp, ok)
	}
}

func TestBucket_Add(t *testing.T) {
	b, c := newTestBucket(t)
	if ok, err := b.Add("k", 1, time.Second); !ok || err != nil {
		t.Fatalf("first Add = %v, %v", ok, err)
	}
	if ok, err := b.Add("k", 2, 0); ok || err != nil {
		t.Fatalf("second Add = %v, %v", ok, err)
	}
	c.Advance(time.Second)
	if ok, err := b.Add("k", 3, 0); !ok || err != nil {
		t.Fatalf("Add after expiry = %v, %v", ok, err)
	}
	if _, err := b.Add("n", nil, 0); !errors.Is(err, ErrInvalidValue) {
		t.Errorf("Add(nil) error = %v", err)
	}
}

func TestBucket_Incr(t *testing.T) {
	b, c := newTestBucket(t)
	tests := []struct {
		name  string
		delta float64
		want  float64
	}{
		{"creates at delta", 1, 1},
		{"adds", 41, 42},
		{"fractions", 0.5, 42.5},
		{"negative", -43, -0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := b.Incr("n", tt.delta, time.Minute)
			if err != nil || got != tt.want {
				t.Errorf("Incr = %v, %v, want %v", got, err, tt.want)
			}
		})
	}
	if exp, _ := b.Expiry("n"); !exp.Equal(c.Now().Add(time.Minute)) {
		t.Errorf("ttl not set on creation: %v", exp)
	}
	b.Set("i", 5, 0) // a Go int from the Go API
	if got, err := b.Incr("i", 1, 0); got != 6 || err != nil {
		t.Errorf("Incr(int) = %v, %v", got, err)
	}
	if v, _ := b.Get("i"); v != int64(6) {
		t.Errorf("integral result stored as %T %v, want int64", v, v)
	}
	b.Set("s", "x", 0)
	if _, err := b.Incr("s", 1, 0); !errors.Is(err, ErrNotNumber) {
		t.Errorf("Incr(string) error = %v", err)
	}
	if _, err := b.Incr("", 1, 0); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("Incr(empty key) error = %v", err)
	}
}

func TestBucket_DeleteKeysLen(t *testing.T) {
	b, c := newTestBucket(t)
	for _, k := range []string{"b:2", "a:1", "b:1", "b:3"} {
		b.Set(k, 1, 0)
	}
	b.Set("b:0", 1, time.Second)
	if got := b.Keys("b:"); !reflect.DeepEqual(got, []string{"b:0", "b:1", "b:2", "b:3"}) {
		t.Errorf("Keys = %v", got)
	}
	c.Advance(time.Second)
	if got := b.Keys(""); !reflect.DeepEqual(got, []string{"a:1", "b:1", "b:2", "b:3"}) {
		t.Errorf("Keys = %v", got)
	}
	if b.Len() != 5 {
		t.Errorf("Len = %d, want 5 (expired entry not yet swept)", b.Len())
	}
	if !b.Delete("a:1") || b.Delete("a:1") || b.Delete("b:0") {
		t.Error("Delete results wrong")
	}
}

func TestBucket_limits(t *testing.T) {
	c := newFakeClock()
	s := NewStore(c.Now)
	s.maxKeys, s.maxValue = 3, 100
	b := s.Bucket("p")
	tests := []struct {
		name string
		err  error
		do   func() error
	}{
		{"empty key", ErrInvalidKey, func() error { return b.Set("", 1, 0) }},
		{"long key", ErrInvalidKey, func() error { return b.Set(strings.Repeat("k", MaxKeyLen+1), 1, 0) }},
		{"max key length", nil, func() error { return b.Set(strings.Repeat("k", MaxKeyLen), 1, 0) }},
		{"big string", ErrValueTooLarge, func() error { return b.Set("v", strings.Repeat("x", 99), 0) }},
		{"big list", ErrValueTooLarge, func() error { return b.Set("v", []any{strings.Repeat("x", 50), strings.Repeat("x", 50)}, 0) }},
		{"big map", ErrValueTooLarge, func() error { return b.Set("v", map[string]any{strings.Repeat("k", 60): strings.Repeat("x", 40)}, 0) }},
		{"fits", nil, func() error { return b.Set("v", strings.Repeat("x", 90), 0) }},
		{"third key", nil, func() error { return b.Set("w", 1, time.Second) }},
		{"full", ErrBucketFull, func() error { return b.Set("x", 1, 0) }},
		{"full for incr", ErrBucketFull, func() error { _, err := b.Incr("x", 1, 0); return err }},
		{"full for add", ErrBucketFull, func() error { _, err := b.Add("x", 1, 0); return err }},
		{"existing key still writable", nil, func() error { return b.Set("v", 2, 0) }},
		{"expired entries make room", nil, func() error { c.Advance(time.Second); return b.Set("x", 1, 0) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.do(); !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Errorf("error = %v, want %v", err, tt.err)
			}
		})
	}
}

func TestStore_Sweep(t *testing.T) {
	c := newFakeClock()
	s := NewStore(c.Now)
	a, b := s.Bucket("a"), s.Bucket("b")
	if s.Bucket("a") != a {
		t.Fatal("Bucket does not return the same bucket")
	}
	a.Set("x", 1, time.Second)
	a.Set("y", 1, 0)
	b.Set("x", 1, 2*time.Second)
	c.Advance(time.Second)
	if n := s.Sweep(); n != 1 {
		t.Errorf("Sweep = %d, want 1", n)
	}
	c.Advance(time.Second)
	if n := s.Sweep(); n != 1 || a.Len() != 1 || b.Len() != 0 {
		t.Errorf("Sweep = %d, lens %d %d", n, a.Len(), b.Len())
	}
	if n := s.Sweep(); n != 0 {
		t.Errorf("Sweep of nothing = %d", n)
	}
}

// Many goroutines hammer one bucket with every operation while a sweeper
// runs; counters stay exact and -race finds nothing.
func TestBucket_concurrent(t *testing.T) {
	c := newFakeClock()
	s := NewStore(c.Now)
	b := s.Bucket("p")
	const workers, rounds = 16, 500
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				if _, err := b.Incr("total", 1, 0); err != nil {
					t.Error(err)
					return
				}
				key := fmt.Sprintf("w%d:%d", w, i%10)
				b.Set(key, map[string]any{"i": int64(i)}, time.Millisecond)
				b.Get(key)
				b.Add("once", w, 0)
				b.Expiry(key)
				b.Keys(fmt.Sprintf("w%d:", w))
				if i%7 == 0 {
					b.Delete(key)
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 200 {
			c.Advance(time.Millisecond)
			s.Sweep()
		}
	}()
	wg.Wait()
	<-done
	if v, _ := b.Get("total"); v != int64(workers*rounds) {
		t.Errorf("total = %v, want %d", v, workers*rounds)
	}
	c.Advance(time.Second)
	s.Sweep()
	if got := b.Keys(""); !reflect.DeepEqual(got, []string{"once", "total"}) {
		t.Errorf("keys after sweep = %v", got)
	}
}
