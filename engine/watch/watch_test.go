package watch

import (
	"testing"
	"time"
)

// A burst of changes to one plugin runs only the last function given, once,
// after the files are quiet; other plugins are debounced apart.
func TestDebouncer(t *testing.T) {
	d := &debouncer{timers: map[string]*time.Timer{}}
	defer d.stop()
	ran := make(chan string, 10)
	for i := 0; i < 5; i++ {
		d.after("a", func() { ran <- "a-stale" })
	}
	d.after("a", func() { ran <- "a" })
	d.after("b", func() { ran <- "b" })
	got := map[string]int{}
	for len(got) < 2 {
		select {
		case n := <-ran:
			got[n]++
		case <-time.After(10 * Debounce):
			t.Fatalf("ran %v", got)
		}
	}
	if got["a"] != 1 || got["b"] != 1 || got["a-stale"] != 0 {
		t.Fatalf("ran %v", got)
	}
}
