package shared

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"
)

// Limits of one bucket.
const (
	MaxValueSize = 1 << 20 // bytes of one value, measured by its JSON-like size
	MaxKeys      = 100_000 // live keys per bucket
	MaxKeyLen    = 1024    // bytes of a key
)

// Store holds the buckets of every plugin of an engine. The engine makes one
// Store and hands each plugin generation the module of its plugin's bucket.
type Store struct {
	clock    func() time.Time
	maxKeys  int // MaxKeys, lowered by tests
	maxValue int // MaxValueSize, lowered by tests

	mu      sync.Mutex
	buckets map[string]*Bucket
}

// NewStore returns an empty store reading the time from clock; nil means
// time.Now.
func NewStore(clock func() time.Time) *Store {
	if clock == nil {
		clock = time.Now
	}
	return &Store{clock: clock, maxKeys: MaxKeys, maxValue: MaxValueSize, buckets: map[string]*Bucket{}}
}

// Bucket returns the bucket of plugin, creating it on first use. Buckets
// live as long as the store, across the plugin's generations.
func (s *Store) Bucket(plugin string) *Bucket {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.buckets[plugin]
	if !ok {
		b = &Bucket{store: s, items: map[string]entry{}}
		s.buckets[plugin] = b
	}
	return b
}

// Sweep removes the expired entries of every bucket and returns how many it
// removed.
func (s *Store) Sweep() int {
	s.mu.Lock()
	buckets := make([]*Bucket, 0, len(s.buckets))
	for _, b := range s.buckets {
		buckets = append(buckets, b)
	}
	s.mu.Unlock()
	n := 0
	for _, b := range buckets {
		n += b.Sweep()
	}
	return n
}

// Bucket is one plugin's key/value space. Its methods are safe for
// concurrent use. Values are JSON-like Go data as luaconv.ToGo returns it
// (nil, bool, int64, float64, string, []any, map[string]any); the bucket
// keeps the value it is given and hands it out on Get, so callers must not
// modify a value after Set nor one returned by Get.
type Bucket struct {
	store *Store

	mu       sync.Mutex
	items    map[string]entry
	expiring int // entries with an expiry, so a full bucket knows if sweeping can help
}

type entry struct {
	value   any
	expires time.Time // zero: never
}

func (e entry) expired(now time.Time) bool { return !e.expires.IsZero() && !now.Before(e.expires) }

// Get returns the value of key, if present and not expired.
func (b *Bucket) Get(key string) (any, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.live(key, b.store.clock())
	return e.value, ok
}

// Expiry returns when key expires (the zero time if never), and whether key
// is present.
func (b *Bucket) Expiry(key string) (time.Time, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.live(key, b.store.clock())
	return e.expires, ok
}

// Set stores value under key, expiring after ttl (never if ttl <= 0). A nil
// value deletes key.
func (b *Bucket) Set(key string, value any, ttl time.Duration) error {
	if err := b.check(key, value); err != nil {
		return err
	}
	if value == nil {
		b.Delete(key)
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.store.clock()
	return b.put(key, entry{value: value, expires: expiry(now, ttl)}, now)
}

// Add stores value under key only if key is absent (or expired), and reports
// whether it did.
func (b *Bucket) Add(key string, value any, ttl time.Duration) (bool, error) {
	if value == nil {
		return false, fmt.Errorf("%w: nil", ErrInvalidValue)
	}
	if err := b.check(key, value); err != nil {
		return false, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.store.clock()
	if _, ok := b.live(key, now); ok {
		return false, nil
	}
	if err := b.put(key, entry{value: value, expires: expiry(now, ttl)}, now); err != nil {
		return false, err
	}
	return true, nil
}

// Incr adds delta to the number under key atomically and returns the new
// value. A missing (or expired) key starts at 0 and gets ttl; an existing
// key keeps its expiry. It fails with ErrNotNumber if key holds another kind
// of value.
func (b *Bucket) Incr(key string, delta float64, ttl time.Duration) (float64, error) {
	if err := checkKey(key); err != nil {
		return 0, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.store.clock()
	e, ok := b.live(key, now)
	if !ok {
		e = entry{value: int64(0), expires: expiry(now, ttl)}
	}
	n, isNumber := toFloat(e.value)
	if !isNumber {
		return 0, fmt.Errorf("%w: key %q holds %T", ErrNotNumber, key, e.value)
	}
	n += delta
	e.value = normalize(n)
	if err := b.put(key, e, now); err != nil {
		return 0, err
	}
	return n, nil
}

// Delete removes key and reports whether it was present (and not expired).
func (b *Bucket) Delete(key string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, ok := b.live(key, b.store.clock())
	if ok {
		b.remove(key)
	}
	return ok
}

// Keys returns the live keys starting with prefix, sorted.
func (b *Bucket) Keys(prefix string) []string {
	b.mu.Lock()
	now := b.store.clock()
	keys := make([]string, 0, min(len(b.items), 1024))
	for k, e := range b.items {
		if strings.HasPrefix(k, prefix) && !e.expired(now) {
			keys = append(keys, k)
		}
	}
	b.mu.Unlock()
	slices.Sort(keys)
	return keys
}

// Len returns the number of entries, counting expired ones not yet removed.
func (b *Bucket) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.items)
}

// Sweep removes the expired entries and returns how many it removed.
func (b *Bucket) Sweep() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sweep(b.store.clock())
}

// live returns the entry of key unless it is missing or expired, removing an
// expired one. b.mu must be held.
func (b *Bucket) live(key string, now time.Time) (entry, bool) {
	e, ok := b.items[key]
	if ok && e.expired(now) {
		b.remove(key)
		return entry{}, false
	}
	return e, ok
}

// put stores e under key, refusing a new key when the bucket is full even
// after sweeping. b.mu must be held.
func (b *Bucket) put(key string, e entry, now time.Time) error {
	old, exists := b.items[key]
	if !exists && len(b.items) >= b.store.maxKeys {
		if b.expiring > 0 {
			b.sweep(now)
		}
		if len(b.items) >= b.store.maxKeys {
			return fmt.Errorf("%w: %d keys", ErrBucketFull, b.store.maxKeys)
		}
	}
	if exists && !old.expires.IsZero() {
		b.expiring--
	}
	if !e.expires.IsZero() {
		b.expiring++
	}
	b.items[key] = e
	return nil
}

// remove deletes key. b.mu must be held.
func (b *Bucket) remove(key string) {
	if e, ok := b.items[key]; ok {
		if !e.expires.IsZero() {
			b.expiring--
		}
		delete(b.items, key)
	}
}

// sweep removes the expired entries. b.mu must be held.
func (b *Bucket) sweep(now time.Time) int {
	n := 0
	for k, e := range b.items {
		if e.expired(now) {
			b.remove(k)
			n++
		}
	}
	return n
}

// check validates key and the size of value, outside the lock.
func (b *Bucket) check(key string, value any) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if size := sizeOf(value, b.store.maxValue); size > b.store.maxValue {
		return fmt.Errorf("%w: more than %d bytes", ErrValueTooLarge, b.store.maxValue)
	}
	return nil
}

func checkKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: empty", ErrInvalidKey)
	case len(key) > MaxKeyLen:
		return fmt.Errorf("%w: longer than %d bytes", ErrInvalidKey, MaxKeyLen)
	}
	return nil
}

func expiry(now time.Time, ttl time.Duration) time.Time {
	if ttl <= 0 {
		return time.Time{}
	}
	return now.Add(ttl)
}

// sizeOf measures v as roughly its JSON size, stopping once past limit.
func sizeOf(v any, limit int) int {
	switch x := v.(type) {
	case string:
		return len(x) + 2
	case []any:
		n := 2
		for _, e := range x {
			if n += sizeOf(e, limit) + 1; n > limit {
				break
			}
		}
		return n
	case map[string]any:
		n := 2
		for k, e := range x {
			if n += len(k) + 4 + sizeOf(e, limit); n > limit {
				break
			}
		}
		return n
	}
	return 8 // numbers, booleans, null and other scalars
}

// toFloat returns the numeric value of v, for the kinds a bucket may hold.
func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	case int:
		return float64(x), true
	}
	return 0, false
}

// normalize stores integral results as int64, like luaconv.ToGo does.
func normalize(f float64) any {
	if f == math.Trunc(f) && math.Abs(f) <= 1<<53 {
		return int64(f)
	}
	return f
}
