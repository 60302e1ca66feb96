package endpoints

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
)

// Without a database the verdict is made of the engine's state, the
// plugins still waiting and the relay, sorted; ready only when none holds.
func TestReadiness_Verdict(t *testing.T) {
	ok, why, err := Readiness{Waiting: []string{"plugin b is discovered"}, Log: slog.Default()}.Verdict(context.Background())
	want := []string{"engine not serving", "plugin b is discovered", "stream relay: not listening yet"}
	if ok || err != nil || !reflect.DeepEqual(why, want) {
		t.Errorf("Verdict = %v %v %v, want false %v", ok, why, err, want)
	}
	if ok, why, _ := (Readiness{Up: true, Relaying: true}).Verdict(context.Background()); !ok || len(why) != 0 {
		t.Errorf("Verdict of a serving engine = %v %v", ok, why)
	}
}

// The engine's endpoints answer in the router; anything else is NotFound's.
func TestEndpoints_Router(t *testing.T) {
	ok := func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) }
	mux, err := Endpoints{NotFound: func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusGone) },
		Readyz: ok, JWKS: ok, StreamTicket: ok, OpenAPI: ok, Admin: http.HandlerFunc(ok), Metrics: http.HandlerFunc(ok)}.Router(nil)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 418, "/openapi.json": 418, "/metrics": 418,
		"/admin/plugins": 418, "/.well-known/jwks.json": 418, "/nothing": 410} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != want {
			t.Errorf("GET %s: %d, want %d", path, rec.Code, want)
		}
	}
}
