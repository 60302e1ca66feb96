package web

import (
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// AccessLog writes one line per request straight into a byte buffer and
// then to its writer in one call. It exists because a request log line
// through slog costs several times more than the rest of a hello request
// (PocketBase's default request logging halves its throughput); the lines
// keep slog's text or JSON shape so one log stream stays uniform.
type AccessLog struct {
	w    io.Writer
	json bool
	bufs sync.Pool
}

// NewAccessLog writes lines to w in format "text" or "json".
func NewAccessLog(w io.Writer, format string) *AccessLog {
	a := &AccessLog{w: w, json: format == "json"}
	a.bufs.New = func() any { b := make([]byte, 0, 256); return &b }
	return a
}

// Write writes the line of one request.
func (a *AccessLog) Write(r *http.Request, w *RespWriter, d time.Duration) {
	status := w.Status
	if status == 0 {
		status = http.StatusOK
	}
	bp := a.bufs.Get().(*[]byte)
	b := (*bp)[:0]
	if a.json {
		b = append(b, `{"time":"`...)
		b = time.Now().AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
		b = append(b, `","level":"INFO","msg":"request","method":`...)
		b = appendJSONString(b, r.Method)
		b = append(b, `,"path":`...)
		b = appendJSONString(b, r.URL.Path)
		b = append(b, `,"status":`...)
		b = strconv.AppendInt(b, int64(status), 10)
		b = append(b, `,"dur":`...)
		b = strconv.AppendInt(b, int64(d), 10)
		b = append(b, `,"request_id":`...)
		b = appendJSONString(b, w.RequestID)
		b = append(b, `,"plugin":`...)
		b = appendJSONString(b, w.Plugin)
		b = append(b, `,"gen":`...)
		b = strconv.AppendInt(b, w.Gen, 10)
		if w.TraceID != "" {
			b = append(b, `,"trace_id":"`...)
			b = append(b, w.TraceID...)
			b = append(b, '"')
		}
		b = append(b, "}\n"...)
	} else {
		b = append(b, "time="...)
		b = time.Now().AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
		b = append(b, " level=INFO msg=request method="...)
		b = appendTextValue(b, r.Method)
		b = append(b, " path="...)
		b = appendTextValue(b, r.URL.Path)
		b = append(b, " status="...)
		b = strconv.AppendInt(b, int64(status), 10)
		b = append(b, " dur="...)
		b = append(b, d.String()...)
		b = append(b, " request_id="...)
		b = appendTextValue(b, w.RequestID)
		b = append(b, " plugin="...)
		b = appendTextValue(b, w.Plugin)
		b = append(b, " gen="...)
		b = strconv.AppendInt(b, w.Gen, 10)
		if w.TraceID != "" {
			b = append(b, " trace_id="...)
			b = append(b, w.TraceID...)
		}
		b = append(b, '\n')
	}
	_, _ = a.w.Write(b)
	*bp = b
	a.bufs.Put(bp)
}

// appendTextValue writes s bare when it is safe in slog's text format,
// quoted otherwise.
func appendTextValue(b []byte, s string) []byte {
	if s == "" {
		return append(b, `""`...)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c == '"' || c == '=' || c >= utf8.RuneSelf {
			return strconv.AppendQuote(b, s)
		}
	}
	return append(b, s...)
}

func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
