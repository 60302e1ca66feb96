package luavm

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// waitFor polls cond until it holds, failing the test after 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestDeadlineCtx_ErrAtTheDeadlineWithoutAChannel(t *testing.T) {
	c := NewDeadline(context.Background(), 20*time.Millisecond)
	if dl, ok := c.Deadline(); !ok || time.Until(dl) > 20*time.Millisecond {
		t.Fatalf("Deadline() = %v, %v", dl, ok)
	}
	if err := c.Err(); err != nil {
		t.Fatalf("Err before the deadline: %v", err)
	}
	waitFor(t, "the deadline", func() bool { return c.Err() != nil })
	if err := c.Err(); err != context.DeadlineExceeded {
		t.Fatalf("Err = %v, want DeadlineExceeded", err)
	}
	if c.donep.Load() != nil {
		t.Fatal("Err made Done's channel")
	}
	select {
	case <-c.Done(): // made closed: the context is done already
	default:
		t.Fatal("Done of a done context is not closed")
	}
	c.Cancel()
	if err := c.Err(); err != context.DeadlineExceeded {
		t.Fatalf("Err after Cancel = %v: the first reason must stay", err)
	}
}

func TestDeadlineCtx_DoneClosesAtTheDeadline(t *testing.T) {
	c := NewDeadline(context.Background(), 20*time.Millisecond)
	defer c.Cancel()
	child, cancel := context.WithCancel(c) // what a host module derives
	defer cancel()
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done not closed at the deadline")
	}
	<-child.Done()
	if c.Err() != context.DeadlineExceeded || child.Err() == nil {
		t.Fatalf("Err = %v, child %v", c.Err(), child.Err())
	}
}

func TestDeadlineCtx_ParentAndCancel(t *testing.T) {
	parent, cancelParent := context.WithCancel(context.Background())
	c := NewDeadline(parent, time.Hour)
	done := c.Done()
	cancelParent()
	<-done
	if c.Err() != context.Canceled {
		t.Fatalf("Err = %v, want the parent's Canceled", c.Err())
	}

	parent, cancelParent = context.WithCancel(context.Background())
	c = NewDeadline(parent, time.Hour)
	cancelParent() // no Done asked: Err reads the parent
	if c.Err() != context.Canceled {
		t.Fatalf("Err = %v without Done, want the parent's Canceled", c.Err())
	}

	c = NewDeadline(context.WithValue(context.Background(), "k", "v"), time.Hour) //nolint:staticcheck // a test key
	done = c.Done()
	c.Cancel()
	<-done
	if c.Err() != context.Canceled || c.Value("k") != "v" {
		t.Fatalf("Err = %v, Value = %v", c.Err(), c.Value("k"))
	}
}

// TestWatchedCall_StopsAnInfiniteLoopAtTheDeadline: a call whose context is
// set with SetContextWatched is cut by the watcher — the VM itself checks
// only the Limits — with the context's error, and the context never had to
// make a channel.
func TestWatchedCall_StopsAnInfiniteLoopAtTheDeadline(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	L.G.Limits = newLimits()
	L.G.Limits.Arm(0, nil)
	c := NewDeadline(context.Background(), 30*time.Millisecond)
	defer c.Cancel()
	L.SetContextWatched(c)
	slot := newCallSlot(L.G.Limits)
	watchCall(slot, c)
	err := L.DoString("local n = 0 while true do n = n + 1 end")
	unwatchCall(slot)
	L.RemoveContext()
	if err == nil || !strings.Contains(err.Error(), context.DeadlineExceeded.Error()) {
		t.Fatalf("err = %v, want the deadline", err)
	}
	if c.donep.Load() != nil {
		t.Fatal("the watched call made the context's Done channel")
	}
	if !errors.Is(L.G.Limits.Stopped(), context.DeadlineExceeded) {
		t.Fatalf("Limits stopped with %v", L.G.Limits.Stopped())
	}
	waitFor(t, "the watcher to end once idle", func() bool {
		return !watcher.running.Load()
	})
}

func TestDeadlineCtx_AfterFunc(t *testing.T) {
	c := NewDeadline(context.Background(), 20*time.Millisecond)
	ran := make(chan struct{})
	c.AfterFunc(func() { close(ran) })
	stopped := false
	stop := c.AfterFunc(func() { stopped = true })
	if !stop() || stop() {
		t.Fatal("stop: want true once, then false")
	}
	<-ran // run by the watcher's poll at the deadline
	if c.Err() != context.DeadlineExceeded || stopped {
		t.Fatalf("Err = %v, stopped function ran: %v", c.Err(), stopped)
	}
	late := make(chan struct{})
	if c.AfterFunc(func() { close(late) })() {
		t.Fatal("stop after the end reported true")
	}
	<-late // registered after the end: run at once

	// context.AfterFunc and derived contexts use it
	c = NewDeadline(context.Background(), time.Hour)
	child, cancel := context.WithCancel(c)
	defer cancel()
	ran = make(chan struct{})
	context.AfterFunc(c, func() { close(ran) })
	c.Cancel()
	<-ran
	<-child.Done()
	waitFor(t, "the watcher to forget the ended context", func() bool {
		watcher.mu.Lock()
		defer watcher.mu.Unlock()
		return len(watcher.deadlines) == 0 && !watcher.running.Load()
	})
}

// TestDeadlineCtx_NoLockOrderDeadlock: Done and AfterFunc (a database
// query of a running call) register with the watcher while the watcher, polling
// the running calls, ends their contexts (taking each context's lock): the
// contexts of many calls expiring while they ask for Done must all end.
func TestDeadlineCtx_NoLockOrderDeadlock(t *testing.T) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for round := 0; round < 50; round++ {
			cs := make([]*DeadlineCtx, 64)
			for i := range cs {
				cs[i] = NewDeadline(context.Background(), time.Duration(i%4)*time.Millisecond)
			}
			for _, c := range cs {
				slot := newCallSlot(new(lua.Limits)) // a pooled call: the watcher polls its context
				watchCall(slot, c)
				c.AfterFunc(func() {})
				<-c.Done()
				unwatchCall(slot)
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("deadlock: contexts did not end")
	}
}

// Deadline is the earlier of the call's own and its parent's, as
// context.WithTimeout's is: a host module sizing a network timeout from it
// must not outlive the request.
func TestDeadlineCtx_DeadlineIsTheEarlierOne(t *testing.T) {
	parent, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	pd, _ := parent.Deadline()
	c := NewDeadline(parent, 2*time.Hour)
	if dl, ok := c.Deadline(); !ok || !dl.Equal(pd) {
		t.Fatalf("Deadline() = %v, %v; want the parent's %v", dl, ok, pd)
	}
	c.Cancel()
	before := time.Now()
	c = NewDeadline(parent, time.Minute)
	dl, ok := c.Deadline()
	// a second of slack: Deadline reads two clocks, and a preemption between
	// the reads shifts the result by as long as it lasted
	if !ok || dl.Before(before.Add(time.Minute-time.Second)) || dl.After(time.Now().Add(time.Minute+time.Second)) {
		t.Fatalf("Deadline() = %v, %v; want a minute from %v", dl, ok, before)
	}
	c.Cancel()
}

// A call that starts while the watcher stops (it stops once a pass finds
// no call) is still watched: the watcher looks at the slots again after
// marking itself stopped, and the call reads that mark after setting its
// context. The call here starts at exactly that moment (the test hook) and
// loops forever: a watcher that stopped regardless would never stop it.
func TestWatchedCall_StartsWhileTheWatcherStops(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	L.G.Limits = newLimits()
	slot := newCallSlot(L.G.Limits)
	c0 := NewDeadline(context.Background(), time.Hour) // lists the slot
	watchCall(slot, c0)
	unwatchCall(slot)
	c0.Cancel()

	c := NewDeadline(context.Background(), 0)
	defer c.Cancel()
	started := make(chan struct{})
	var once sync.Once
	watcher.mu.Lock() // the watcher reads the hook under its lock
	testHookWatcherIdle = func() {
		once.Do(func() {
			watchCall(slot, c) // listed and running: no lock taken
			close(started)
		})
	}
	watcher.mu.Unlock()
	defer func() {
		watcher.mu.Lock()
		testHookWatcherIdle = nil
		watcher.mu.Unlock()
	}()
	<-started
	done := make(chan error, 1)
	go func() {
		L.G.Limits.Arm(0, nil)
		L.SetContextWatched(c)
		done <- L.DoString("local n = 0 while true do n = n + 1 end")
		unwatchCall(slot)
		L.RemoveContext()
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), context.DeadlineExceeded.Error()) {
			t.Fatalf("err = %v, want the deadline", err)
		}
	case <-time.After(30 * time.Second):
		L.G.Limits.Stop(errors.New("test over"))
		<-done
		t.Fatal("the call that started while the watcher stopped was never stopped")
	}
}
