package web

import (
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/vbwd-platform/vbwd-engine/engine/luavm"
	"github.com/vbwd-platform/vbwd-engine/internal/luaconv"
	lua "github.com/yuin/gopher-lua"
)

// A route handler's result: the handler contract (status, body[, headers])
// applied to what the Lua function returned, its body encoded straight to
// JSON (no intermediate Go value) into a pooled buffer, and written out; and
// the bounded read of the request body before the call.

// Result is what a Lua handler produced, encoded while the state was held.
type Result struct {
	Stream      string        // a stream route's channel
	Events      []StreamEvent // and the events to send first
	Status      int
	ContentType string
	Headers     [][2]string
	Body        []byte
}

var resultPool = sync.Pool{New: func() any { return &Result{Body: make([]byte, 0, 1024)} }}

// GetResult takes an empty Result from a pool; give it back with PutResult.
func GetResult() *Result { return resultPool.Get().(*Result) }

// PutResult empties r and returns it to the pool.
func PutResult(r *Result) {
	r.Reset()
	resultPool.Put(r)
}

// Reset empties r, keeping its buffers.
func (r *Result) Reset() {
	r.Status, r.ContentType, r.Headers, r.Body = 0, "", r.Headers[:0], r.Body[:0]
	r.Stream, r.Events = "", nil
}

// EncodeResult applies the handler contract: status, body[, headers]. A
// first value that is not a number is the body of a 200; no values is 204.
func EncodeResult(status, body, headers lua.LValue, resp *Result, max int64, check func() error) error {
	if n, ok := status.(lua.LNumber); ok {
		code := int(n)
		if float64(code) != float64(n) || code < 200 || code > 599 {
			// 1xx are interim answers, not a response: net/http would send
			// 101 bare and turn the others into a 200
			return fmt.Errorf("handler returned status %v, want an integer in 200..599", n)
		}
		resp.Status = code
	} else if status == lua.LNil {
		resp.Status = http.StatusNoContent
	} else {
		resp.Status, body, headers = http.StatusOK, status, body
	}
	if t, ok := headers.(*lua.LTable); ok {
		var herr error
		t.ForEach(func(k, v lua.LValue) {
			ks, ok := k.(lua.LString)
			if !ok {
				herr = fmt.Errorf("handler returned a header with a %s name", k.Type())
				return
			}
			if string(ks) == "Content-Type" || string(ks) == "content-type" {
				resp.ContentType = v.String()
				return
			}
			resp.Headers = append(resp.Headers, [2]string{string(ks), v.String()})
		})
		if herr != nil {
			return herr
		}
	} else if headers != lua.LNil {
		return fmt.Errorf("handler returned headers as a %s, want a table", headers.Type())
	}
	return encodeBody(body, resp, max, check)
}

// encodeBody encodes the body, at most max bytes (ErrResponseTooLarge),
// interruptible by the call's context (check).
func encodeBody(body lua.LValue, resp *Result, max int64, check func() error) error {
	switch b := body.(type) {
	case *lua.LNilType:
		return nil
	case lua.LString:
		if int64(len(b)) > max {
			return luavm.ResponseTooLarge(max)
		}
		resp.Body = append(resp.Body, b...)
		if resp.ContentType == "" {
			resp.ContentType = "text/plain; charset=utf-8"
		}
		return nil
	}
	var err error
	resp.Body, err = luaconv.AppendJSONLimited(resp.Body, body, luaconv.Limits{MaxBytes: int(max), Check: check})
	if err != nil {
		if _, ok := err.(*luaconv.TooLargeError); ok {
			return luavm.ResponseTooLarge(max)
		}
		return fmt.Errorf("encoding the response body: %w", err)
	}
	if resp.ContentType == "" {
		resp.ContentType = "application/json"
	}
	return nil
}

var contentTypeJSON = []string{"application/json"}

func WriteResult(w *RespWriter, resp *Result) {
	h := w.Header()
	for _, kv := range resp.Headers {
		h.Set(kv[0], kv[1])
	}
	switch resp.ContentType {
	case "":
	case contentTypeJSON[0]:
		h["Content-Type"] = contentTypeJSON // shared, never mutated: saves an allocation
	default:
		h["Content-Type"] = []string{resp.ContentType}
	}
	// No Content-Length: net/http sets it for bodies written in one go.
	w.WriteHeader(resp.Status)
	if len(resp.Body) > 0 {
		_, _ = w.Write(resp.Body)
	}
}

// ReadBody reads the request body up to limit bytes; it answers 413 and
// returns false when the body is larger.
func ReadBody(w *RespWriter, r *http.Request, limit int64) ([]byte, bool) {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return nil, true
	}
	if r.ContentLength > limit {
		WriteError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body exceeds %d bytes", limit), nil)
		return nil, false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		WriteError(w, http.StatusBadRequest, "cannot read request body", nil)
		return nil, false
	}
	if int64(len(body)) > limit {
		WriteError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body exceeds %d bytes", limit), nil)
		return nil, false
	}
	return body, true
}
