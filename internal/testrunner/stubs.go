package testrunner

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// httpStub is one t.http.stub: what vbwd.http gets for matching requests.
type httpStub struct {
	method  string // "*" for any
	re      *regexp.Regexp
	status  int
	headers map[string]string
	body    []byte
}

// globRE compiles a URL pattern where "*" matches any text.
func globRE(pattern string) *regexp.Regexp {
	parts := strings.Split(pattern, "*")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile("^" + strings.Join(parts, ".*") + "$")
}

func (h *harness) HTTPStub(method, pattern string, status int, headers map[string]string, body []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stubs = append(h.stubs, httpStub{method: method, re: globRE(pattern), status: status, headers: headers, body: body})
}

func (h *harness) HTTPCalls() []map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]map[string]any(nil), h.calls...)
}

// RoundTrip is the engine's vbwd.http transport inside `vbwd test`: it
// records the request and answers from the latest matching stub; nothing
// reaches the network.
func (h *harness) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body.Close()
	}
	headers := map[string]any{}
	for k, vs := range req.Header {
		headers[strings.ToLower(k)] = strings.Join(vs, ", ")
	}
	url := req.URL.String()
	h.mu.Lock()
	h.calls = append(h.calls, map[string]any{"method": req.Method, "url": url, "headers": headers, "body": string(body)})
	var match *httpStub
	for i := len(h.stubs) - 1; i >= 0; i-- {
		s := &h.stubs[i]
		if (s.method == "*" || s.method == req.Method) && (s.re.MatchString(url) || s.re.MatchString(strings.SplitN(url, "?", 2)[0])) {
			match = s
			break
		}
	}
	h.mu.Unlock()
	if match == nil {
		return nil, fmt.Errorf("no t.http.stub matches %s %s (tests never reach the network)", req.Method, url)
	}
	res := &http.Response{StatusCode: match.status, Status: fmt.Sprintf("%d %s", match.status, http.StatusText(match.status)),
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: http.Header{}, Request: req,
		Body: io.NopCloser(strings.NewReader(string(match.body))), ContentLength: int64(len(match.body))}
	for k, v := range match.headers {
		res.Header.Set(k, v)
	}
	return res, nil
}

func (h *harness) Deliver(L *lua.LState) (int, error) {
	return h.e.DeliverPending(L.Context(), h.now())
}

func (h *harness) SetConfig(L *lua.LState, plugin string, cfg map[string]any) error {
	if plugin == "" {
		plugin = h.plugin
	}
	ctx := L.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	_, err := h.e.SetConfig(ctx, plugin, cfg)
	return err
}
