package web

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strconv"
	"sync/atomic"
	"unsafe"
)

// RequestIDs makes the request ids of a process: a random prefix and a
// sequence number.
type RequestIDs struct {
	prefix string // random per process, start of generated request ids
	seq    atomic.Uint64
}

// NewRequestIDs starts the ids of a process.
func NewRequestIDs() *RequestIDs {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return &RequestIDs{prefix: hex.EncodeToString(b)}
}

// For keeps a sane incoming X-Request-Id, else makes one; it returns it as
// the X-Request-Id header value.
func (h *RequestIDs) For(r *http.Request) []string {
	// the map directly: net/http stores incoming names canonical, and Get
	// would canonicalize the constant again on every request
	if vs := r.Header["X-Request-Id"]; len(vs) > 0 {
		if v := vs[0]; v != "" && len(v) <= 64 && safeID(v) {
			return []string{v}
		}
	}
	box := new(idBox)
	b := append(box.buf[:0], h.prefix...)
	b = append(b, '-')
	b = strconv.AppendUint(b, h.seq.Add(1), 36)
	box.hv[0] = unsafe.String(&b[0], len(b)) // b is never written again
	return box.hv[:]
}

// idBox is a generated request id and the header value holding it, in one
// allocation instead of three (the concatenation, the number, the slice).
type idBox struct {
	hv  [1]string
	buf [32]byte // 8 hex digits, '-', a base-36 uint64 (at most 13)
}

func safeID(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
