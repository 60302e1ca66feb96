package crypto

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/google/uuid"
	lua "github.com/yuin/gopher-lua"

	"github.com/vbwd-platform/vbwd-engine/hostapi"
)

const (
	// DefaultTokenBytes is the entropy of random_token and random_hex when
	// no size is given.
	DefaultTokenBytes = 32
	// MaxTokenBytes is the largest size random_token and random_hex accept.
	MaxTokenBytes = 1024
)

// Module is the vbwd.crypto module. Its one piece of state is the password
// hasher's concurrency bound (password.go).
type Module struct {
	hasher *hasher
}

// New returns the module.
func New() *Module { return &Module{hasher: newHasher()} }

// Name returns "crypto".
func (m *Module) Name() string { return "crypto" }

// Loader pushes the module table.
func (m *Module) Loader(L *lua.LState) int {
	L.Push(L.SetFuncs(L.CreateTable(0, 14), m.exports()))
	return 1
}

func (m *Module) exports() map[string]lua.LGFunction {
	return map[string]lua.LGFunction{
		"uuid":             m.uuid4,
		"uuid7":            m.uuid7,
		"sha256":           m.sha256,
		"hmac_sha256":      m.hmacSHA256,
		"random_token":     m.randomToken,
		"random_hex":       m.randomHex,
		"constant_time_eq": m.constantTimeEq,
		"base64_encode":    m.base64Encode,
		"base64_decode":    m.base64Decode,
		"hex_encode":       m.hexEncode,
		"hex_decode":       m.hexDecode,

		"password_hash":         m.passwordHash,
		"password_verify":       m.passwordVerify,
		"password_needs_rehash": m.passwordNeedsRehash,
	}
}

// Docs documents the module table.
func (m *Module) Docs() []hostapi.Export {
	return []hostapi.Export{
		{Name: "uuid", Sig: "uuid(): string", Doc: "a random (version 4) UUID in canonical lower-case form"},
		{Name: "uuid7", Sig: "uuid7(): string", Doc: "a time-ordered (version 7) UUID, sortable by creation time"},
		{Name: "sha256", Sig: "sha256(s: string): string", Doc: "the SHA-256 digest of s as lower-case hex"},
		{Name: "hmac_sha256", Sig: "hmac_sha256(key: string, msg: string): string", Doc: "the HMAC-SHA256 of msg under key as lower-case hex"},
		{Name: "random_token", Sig: "random_token(nbytes?: integer): string", Doc: "nbytes (default 32, 1..1024) random bytes as URL-safe base64 without padding"},
		{Name: "random_hex", Sig: "random_hex(nbytes?: integer): string", Doc: "nbytes (default 32, 1..1024) random bytes as lower-case hex"},
		{Name: "constant_time_eq", Sig: "constant_time_eq(a: string, b: string): boolean", Doc: "whether a equals b, in time independent of their contents (for secrets)"},
		{Name: "base64_encode", Sig: "base64_encode(s: string, url?: boolean): string", Doc: "standard base64 of s with padding, or URL-safe base64 without padding when url is true"},
		{Name: "base64_decode", Sig: "base64_decode(s: string): string?, string?", Doc: "decode standard or URL-safe base64, padded or not, or return nil and an error"},
		{Name: "hex_encode", Sig: "hex_encode(s: string): string", Doc: "the bytes of s as lower-case hex"},
		{Name: "hex_decode", Sig: "hex_decode(s: string): string?, string?", Doc: "decode hex (either case), or return nil and an error"},
		{Name: "password_hash", Sig: "password_hash(password: string): string?, string?", Doc: "hash password (at most 1024 bytes) with argon2id, m=19456 KiB, t=2, p=1, a random 16-byte salt and a 32-byte key, as a PHC string \"$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>\" (about 40 ms of one core; hashes wait for a free core, at most until the call's deadline); nil and an error when the deadline passes"},
		{Name: "password_verify", Sig: "password_verify(password: string, hash: string): boolean?, string?", Doc: "whether password matches the PHC string hash (with the parameters stored in it, compared in constant time), or nil and an error for a malformed hash or parameters beyond m=262144, t=16, p=16"},
		{Name: "password_needs_rehash", Sig: "password_needs_rehash(hash: string): boolean?, string?", Doc: "whether hash was made with other parameters than password_hash uses now, so a successful login can store a fresh hash; nil and an error for a malformed hash"},
	}
}

func (m *Module) uuid4(L *lua.LState) int {
	id, err := uuid.NewRandom()
	if err != nil {
		return fail(L, err)
	}
	L.Push(lua.LString(id.String()))
	return 1
}

func (m *Module) uuid7(L *lua.LState) int {
	id, err := uuid.NewV7()
	if err != nil {
		return fail(L, err)
	}
	L.Push(lua.LString(id.String()))
	return 1
}

func (m *Module) sha256(L *lua.LState) int {
	sum := sha256.Sum256([]byte(L.CheckString(1)))
	L.Push(lua.LString(hex.EncodeToString(sum[:])))
	return 1
}

func (m *Module) hmacSHA256(L *lua.LState) int {
	mac := hmac.New(sha256.New, []byte(L.CheckString(1)))
	mac.Write([]byte(L.CheckString(2)))
	L.Push(lua.LString(hex.EncodeToString(mac.Sum(nil))))
	return 1
}

func (m *Module) randomToken(L *lua.LState) int {
	b := randomBytes(L, 1)
	L.Push(lua.LString(base64.RawURLEncoding.EncodeToString(b)))
	return 1
}

func (m *Module) randomHex(L *lua.LState) int {
	b := randomBytes(L, 1)
	L.Push(lua.LString(hex.EncodeToString(b)))
	return 1
}

// randomBytes reads the optional size at argument n and returns that many
// random bytes. crypto/rand.Read never fails on supported platforms.
func randomBytes(L *lua.LState, n int) []byte {
	size := L.OptInt(n, DefaultTokenBytes)
	if size < 1 || size > MaxTokenBytes {
		L.ArgError(n, "nbytes must be between 1 and "+strconv.Itoa(MaxTokenBytes))
	}
	b := make([]byte, size)
	_, _ = rand.Read(b)
	return b
}

func (m *Module) constantTimeEq(L *lua.LState) int {
	a, b := L.CheckString(1), L.CheckString(2)
	L.Push(lua.LBool(subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1))
	return 1
}

func (m *Module) base64Encode(L *lua.LState) int {
	s := []byte(L.CheckString(1))
	enc := base64.StdEncoding
	if L.OptBool(2, false) {
		enc = base64.RawURLEncoding
	}
	L.Push(lua.LString(enc.EncodeToString(s)))
	return 1
}

// base64Decode accepts the standard and URL-safe alphabets, with or without
// padding.
func (m *Module) base64Decode(L *lua.LState) int {
	s := strings.TrimRight(L.CheckString(1), "=")
	enc := base64.RawStdEncoding
	if strings.ContainsAny(s, "-_") {
		enc = base64.RawURLEncoding
	}
	b, err := enc.DecodeString(s)
	if err != nil {
		return fail(L, err)
	}
	L.Push(lua.LString(b))
	return 1
}

func (m *Module) hexEncode(L *lua.LState) int {
	L.Push(lua.LString(hex.EncodeToString([]byte(L.CheckString(1)))))
	return 1
}

func (m *Module) hexDecode(L *lua.LState) int {
	b, err := hex.DecodeString(L.CheckString(1))
	if err != nil {
		return fail(L, err)
	}
	L.Push(lua.LString(b))
	return 1
}

// fail pushes the runtime-failure results nil, err.
func fail(L *lua.LState, err error) int {
	L.Push(lua.LNil)
	L.Push(lua.LString(err.Error()))
	return 2
}

var _ hostapi.Documented = (*Module)(nil)
