package web

import (
	"bytes"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestAppendStamp: the cached access-log time is byte for byte what
// AppendFormat writes, across seconds, milliseconds and time zones.
func TestAppendStamp(t *testing.T) {
	zones := []*time.Location{time.UTC, time.FixedZone("x", 5*3600+30*60), time.FixedZone("y", -7*3600)}
	base := time.Date(2026, 3, 29, 0, 59, 58, 0, time.UTC)
	for _, loc := range zones {
		for _, ns := range []int64{0, 1, 999_999, 1_000_000, 123_456_789, 999_999_999, 1_000_000_000, 1_500_000_000, 2_001_000_000} {
			tm := base.Add(time.Duration(ns)).In(loc)
			want := tm.AppendFormat(nil, "2006-01-02T15:04:05.000Z07:00")
			if got := appendStamp([]byte("x"), tm); !bytes.Equal(got[1:], want) {
				t.Errorf("%v: %s, want %s", tm, got[1:], want)
			}
		}
	}
}

func TestAccessLog_TextLine(t *testing.T) {
	var buf bytes.Buffer
	a := NewAccessLog(&buf, "text")
	r := httptest.NewRequest("GET", "/api/v1/hello/a%20b", nil)
	end := time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC)
	a.WriteAt(r, &RespWriter{Status: 201, RequestID: "id-1", Plugin: "hello", Gen: 3}, end, 1500*time.Microsecond)
	want := `time=2026-01-02T03:04:05.006Z level=INFO msg=request method=GET path="/api/v1/hello/a b" status=201 dur=1.5ms request_id=id-1 plugin=hello gen=3` + "\n"
	if got := buf.String(); got != want {
		t.Fatalf("line\n%q\nwant\n%q", got, want)
	}
	if strings.Count(buf.String(), "\n") != 1 {
		t.Fatal("not one line")
	}
}
