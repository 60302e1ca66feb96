package logsink

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"
)

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestBuffered_ConcurrentWritesAllArrive(t *testing.T) {
	var out lockedBuf
	b := NewBuffered(&out, time.Hour)
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				fmt.Fprintf(b, "line %d %d\n", i, j)
			}
		}(i)
	}
	wg.Wait()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if got := bytes.Count([]byte(out.String()), []byte("\n")); got != 5000 {
		t.Fatalf("got %d lines, want 5000", got)
	}
}

func TestBuffered_FlushesOnInterval(t *testing.T) {
	var out lockedBuf
	b := NewBuffered(&out, 5*time.Millisecond)
	defer b.Close()
	fmt.Fprintln(b, "hello")
	deadline := time.Now().Add(5 * time.Second)
	for out.String() == "" {
		if time.Now().After(deadline) {
			t.Fatal("buffer was never flushed by the interval")
		}
		time.Sleep(time.Millisecond)
	}
}
