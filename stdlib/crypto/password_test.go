package crypto

import (
	"context"
	"encoding/base64"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
)

// A hash made with other parameters verifies with the parameters stored in
// it, not with the current defaults.
func TestPassword_VerifyUsesStoredParameters(t *testing.T) {
	salt := []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	p := argon2Params{memory: 8192, time: 1, threads: 1}
	phc := encodePHC(p, salt, argon2.IDKey([]byte("pw"), salt, 1, 8192, 1, 32))
	h := newHasher()
	for pw, want := range map[string]bool{"pw": true, "pW": false} {
		got, err := h.verify(context.Background(), pw, phc)
		if err != nil || got != want {
			t.Errorf("verify(%q) = %v, %v; want %v", pw, got, err, want)
		}
	}
}

// The hash matches RFC 9106's argon2id test vector shape: the same inputs
// give the same key as argon2.IDKey (the library is the reference), and the
// encoding round-trips.
func TestPassword_PHCRoundTrip(t *testing.T) {
	h := newHasher()
	s, err := h.hash(context.Background(), "pässwörd")
	if err != nil {
		t.Fatal(err)
	}
	p, salt, key, err := decodePHC(s)
	if err != nil || p != defaultParams || len(salt) != argon2SaltLen || len(key) != argon2KeyLen {
		t.Fatalf("decodePHC(%s) = %+v %d %d %v", s, p, len(salt), len(key), err)
	}
	want := argon2.IDKey([]byte("pässwörd"), salt, Argon2Time, Argon2Memory, Argon2Threads, argon2KeyLen)
	if base64.RawStdEncoding.EncodeToString(want) != s[strings.LastIndex(s, "$")+1:] {
		t.Fatal("key differs from argon2.IDKey with the documented parameters")
	}
}

// Hashes run at most GOMAXPROCS at a time; a caller whose deadline passes
// while waiting for a slot gets the context's error instead of hashing.
func TestPassword_ConcurrencyBound(t *testing.T) {
	h := &hasher{slots: make(chan struct{}, 2)}
	var running, peak atomic.Int32
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.slots <- struct{}{} // the same gate key() uses, observed from outside
			n := running.Add(1)
			for {
				old := peak.Load()
				if n <= old || peak.CompareAndSwap(old, n) {
					break
				}
			}
			argon2.IDKey([]byte("x"), []byte("saltsalt"), 1, 1024, 1, 32)
			running.Add(-1)
			<-h.slots
		}()
	}
	wg.Wait()
	if peak.Load() > 2 {
		t.Fatalf("%d hashes at once, bound 2", peak.Load())
	}
	// every slot taken: a caller with an expired deadline gives up
	h.slots <- struct{}{}
	h.slots <- struct{}{}
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	if _, err := h.hash(ctx, "pw"); err == nil {
		t.Fatal("hash with every slot taken and an expired deadline succeeded")
	}
}

// BenchmarkPasswordHash measures the cost of one password_hash (and so of
// one login's password_verify) with the documented parameters.
func BenchmarkPasswordHash(b *testing.B) {
	h := newHasher()
	for b.Loop() {
		if _, err := h.hash(context.Background(), "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}
