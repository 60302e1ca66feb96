package web

import (
	"strings"
	"sync"
	"testing"
	"time"
)

type noPools struct{}

func (noPools) Pools() []Pool { return nil }

// A route answering more distinct statuses than it caches lock-free still
// counts each one, also when many requests make the same series at once.
func TestRouteMetrics_CountsEveryStatus(t *testing.T) {
	m := NewMetrics(noPools{})
	rm := m.Route("notes", "GET /notes/{id}", 3)
	statuses := []int{200, 201, 204, 301, 400, 401, 403, 404, 409, 422, 500, 503, 504, 42, 700}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i <= w; i++ {
				for _, st := range statuses {
					rm.Observe(st, time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	// 1+2+3+4 rounds; 42 and 700 are both counted as 599
	want := map[string]float64{"599": 20}
	for _, st := range statuses[:13] {
		want[itoa(st)] = 10
	}
	got := map[string]float64{}
	mfs, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "vbwd_http_requests_total" {
			continue
		}
		for _, s := range mf.GetMetric() {
			for _, l := range s.GetLabel() {
				if l.GetName() == "status" {
					got[l.GetValue()] = s.GetCounter().GetValue()
				}
			}
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d series, want %d: %v", len(got), len(want), got)
	}
	for status, n := range want {
		if got[status] != n {
			t.Errorf("status %s: counted %v, want %v", status, got[status], n)
		}
	}
	if got := rm.cached(200); got == nil || got.status != 200 {
		t.Errorf("200 is not in a lock-free slot: %+v", got)
	}
	if !strings.Contains(rm.route, "{id}") {
		t.Fatal(rm.route)
	}
}

func itoa(n int) string {
	s := ""
	for ; n > 0; n /= 10 {
		s = string(rune('0'+n%10)) + s
	}
	return s
}
