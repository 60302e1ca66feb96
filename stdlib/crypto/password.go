package crypto

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
	"golang.org/x/crypto/argon2"
)

// Argon2id parameters of password_hash: OWASP's Password Storage Cheat
// Sheet's first argon2id configuration (19 MiB, 2 passes, 1 lane; RFC 9106's
// own choices need 64 MiB or 2 GiB per hash), a 16-byte salt and a 32-byte key. On the
// 2-core development box one hash costs about 38 ms of CPU (measured with
// BenchmarkPasswordHash under a load of 6, 1.15 s user+sys for 31 hashes): a login
// can afford it, a password-guessing attacker pays it per guess.
const (
	Argon2Memory  = 19 * 1024 // KiB
	Argon2Time    = 2
	Argon2Threads = 1
	argon2SaltLen = 16
	argon2KeyLen  = 32

	// MaxPasswordBytes bounds what password_hash and password_verify
	// accept: a longer "password" is an attempt to make the host hash
	// megabytes.
	MaxPasswordBytes = 1024

	// Bounds on the parameters password_verify accepts from a stored
	// hash, so a tampered hash cannot make one call take gigabytes.
	maxArgon2Memory  = 256 * 1024
	maxArgon2Time    = 16
	maxArgon2Threads = 16
)

var errBadHash = errors.New("not an argon2id PHC string ($argon2id$v=19$m=...,t=...,p=...$salt$hash)")

// argon2Params is one set of argon2id parameters, as a PHC string holds them.
type argon2Params struct {
	memory  uint32
	time    uint32
	threads uint8
}

var defaultParams = argon2Params{memory: Argon2Memory, time: Argon2Time, threads: Argon2Threads}

// hasher runs argon2id at most slots-at-a-time: each hash holds its memory
// parameter (19 MiB) for its duration and a core for ~40 ms, so a burst of
// sign-ins queues here (bounded by the caller's deadline) instead of
// allocating a gigabyte at once. One hasher per module instance, that is
// per plugin generation.
type hasher struct {
	slots chan struct{}
}

func newHasher() *hasher {
	return &hasher{slots: make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))}
}

// key derives the argon2id key of password under salt and p, waiting for a
// slot at most until ctx is done.
func (h *hasher) key(ctx context.Context, password, salt []byte, p argon2Params, n uint32) ([]byte, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	select {
	case h.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-h.slots }()
	return argon2.IDKey(password, salt, p.time, p.memory, p.threads, n), nil
}

// hash returns the PHC string of password with a fresh salt.
func (h *hasher) hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, argon2SaltLen)
	_, _ = rand.Read(salt)
	k, err := h.key(ctx, []byte(password), salt, defaultParams, argon2KeyLen)
	if err != nil {
		return "", err
	}
	return encodePHC(defaultParams, salt, k), nil
}

// verify reports whether password matches the PHC string phc, comparing
// the derived key in constant time.
func (h *hasher) verify(ctx context.Context, password, phc string) (bool, error) {
	p, salt, want, err := decodePHC(phc)
	if err != nil {
		return false, err
	}
	got, err := h.key(ctx, []byte(password), salt, p, uint32(len(want)))
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

func encodePHC(p argon2Params, salt, key []byte) string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.memory, p.time, p.threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// decodePHC parses "$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<key>"
// (base64 without padding, as the PHC string format specifies).
func decodePHC(s string) (argon2Params, []byte, []byte, error) {
	var p argon2Params
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, errBadHash
	}
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return p, nil, nil, errBadHash
		}
		switch k {
		case "m":
			p.memory = uint32(n)
		case "t":
			p.time = uint32(n)
		case "p":
			if n > 255 {
				return p, nil, nil, errBadHash
			}
			p.threads = uint8(n)
		default:
			return p, nil, nil, errBadHash
		}
	}
	if p.time < 1 || p.threads < 1 || p.memory < 8*uint32(p.threads) ||
		p.memory > maxArgon2Memory || p.time > maxArgon2Time || p.threads > maxArgon2Threads {
		return p, nil, nil, fmt.Errorf("argon2id parameters out of range: m=%d t=%d p=%d", p.memory, p.time, p.threads)
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	key, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 || len(key) > 64 {
		return p, nil, nil, errBadHash
	}
	return p, salt, key, nil
}

func checkPassword(L *lua.LState, n int) string {
	pw := L.CheckString(n)
	if len(pw) > MaxPasswordBytes {
		L.ArgError(n, "password longer than "+strconv.Itoa(MaxPasswordBytes)+" bytes")
	}
	return pw
}

func (m *Module) passwordHash(L *lua.LState) int {
	s, err := m.hasher.hash(L.Context(), checkPassword(L, 1))
	if err != nil {
		return fail(L, err)
	}
	L.Push(lua.LString(s))
	return 1
}

func (m *Module) passwordVerify(L *lua.LState) int {
	pw, phc := checkPassword(L, 1), L.CheckString(2)
	ok, err := m.hasher.verify(L.Context(), pw, phc)
	if err != nil {
		return fail(L, err)
	}
	L.Push(lua.LBool(ok))
	return 1
}

// passwordNeedsRehash tells whether phc was made with other parameters than
// password_hash uses now (so a login can upgrade the stored hash).
func (m *Module) passwordNeedsRehash(L *lua.LState) int {
	p, _, key, err := decodePHC(L.CheckString(1))
	if err != nil {
		return fail(L, err)
	}
	L.Push(lua.LBool(p != defaultParams || len(key) != argon2KeyLen))
	return 1
}
