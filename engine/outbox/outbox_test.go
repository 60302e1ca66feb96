package outbox

import (
	"testing"
	"time"
)

func TestEventOptions_withDefaults(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   EventOptions
		want EventOptions
	}{
		{"zero", EventOptions{}, EventOptions{Workers: 2, BatchSize: 64, MaxAttempts: 8, BackoffBase: time.Second,
			BackoffMax: 5 * time.Minute, Lease: time.Minute, PollInterval: time.Second, Linger: 5 * time.Millisecond,
			Retention: 7 * 24 * time.Hour}},
		{"no workers, keep forever, no linger", EventOptions{Workers: -1, Retention: -1, Linger: -1}, EventOptions{Workers: 0,
			BatchSize: 64, MaxAttempts: 8, BackoffBase: time.Second, BackoffMax: 5 * time.Minute, Lease: time.Minute,
			PollInterval: time.Second, Linger: -1, Retention: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.in.withDefaults(10 * time.Second); got != tc.want {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
	if got := (EventOptions{}).withDefaults(time.Minute).Lease; got != 3*time.Minute {
		t.Errorf("lease with a 1m request timeout: %v", got)
	}
}

func TestOutbox_backoff(t *testing.T) {
	ob := &outbox{o: EventOptions{BackoffBase: time.Second, BackoffMax: 10 * time.Second}}
	for attempt, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second,
		4: 8 * time.Second, 5: 10 * time.Second, 60: 10 * time.Second} {
		if got := ob.backoff(attempt); got != want {
			t.Errorf("backoff(%d) = %v, want %v", attempt, got, want)
		}
	}
}
