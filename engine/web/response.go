// Package web holds the engine's HTTP helpers that need no engine: the
// response writer every request is served through, JSON and error answers,
// and the access log.
package web

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// RespWriter records what the access log needs.
type RespWriter struct {
	http.ResponseWriter
	Status    int
	Start     time.Time
	End       time.Time // set when a route's handler ends (its metrics), else zero
	RequestID string
	Plugin    string
	Gen       int64
	TraceID   string // set when the request is traced (tracing.go)
}

func (w *RespWriter) WriteHeader(code int) {
	if w.Status == 0 {
		w.Status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *RespWriter) Write(b []byte) (int, error) {
	if w.Status == 0 {
		w.Status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer (flush).
func (w *RespWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// AsRespWriter is w when it is the RespWriter of the request, else one
// wrapping it (request id "-").
func AsRespWriter(w http.ResponseWriter) *RespWriter {
	if rw, ok := w.(*RespWriter); ok {
		return rw
	}
	return &RespWriter{ResponseWriter: w, RequestID: "-"}
}

// WriteJSON answers status with v as JSON.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(`{"error":"internal"}`)
		status = http.StatusInternalServerError
	}
	w.Header()["Content-Type"] = []string{"application/json"}
	w.Header()["Content-Length"] = []string{strconv.Itoa(len(b))}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// WriteError answers {"error": msg, "request_id": ..., extra...}.
func WriteError(w *RespWriter, status int, msg string, extra map[string]any) {
	m := make(map[string]any, len(extra)+2)
	for k, v := range extra {
		m[k] = v
	}
	m["error"] = msg
	m["request_id"] = w.RequestID
	if w.TraceID != "" {
		m["trace_id"] = w.TraceID
	}
	WriteJSON(w, status, m)
}
