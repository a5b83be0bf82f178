package ratelimit

import (
	"testing"
	"time"
)

func TestBucketEmptiesAndRefills(t *testing.T) {
	now := time.Unix(1000, 0)
	l := New(3, time.Minute)
	l.now = func() time.Time { return now }
	for i := range 3 {
		if !l.Allow("a") {
			t.Fatalf("attempt %d refused within the burst", i+1)
		}
	}
	if l.Allow("a") {
		t.Error("a fourth attempt at once was allowed")
	}
	if !l.Allow("b") {
		t.Error("another key was refused")
	}
	now = now.Add(time.Minute)
	if !l.Allow("a") {
		t.Error("no token after one interval")
	}
	if l.Allow("a") {
		t.Error("two tokens after one interval")
	}
}

// Wait says when the next attempt will be allowed: what a 429's Retry-After tells.
func TestWaitIsTheTimeToTheNextToken(t *testing.T) {
	now := time.Unix(1000, 0)
	l := New(2, time.Minute)
	l.now = func() time.Time { return now }
	if w := l.Wait("a"); w != 0 {
		t.Errorf("an unused key waits %s", w)
	}
	l.Allow("a")
	l.Allow("a")
	if w := l.Wait("a"); w != time.Minute {
		t.Errorf("an empty bucket waits %s, want 1m0s", w)
	}
	now = now.Add(45 * time.Second)
	if w := l.Wait("a"); w != 15*time.Second {
		t.Errorf("45 s later it waits %s, want 15s", w)
	}
	now = now.Add(15 * time.Second)
	if w := l.Wait("a"); w != 0 || !l.Allow("a") {
		t.Errorf("a minute later it waits %s", w)
	}
}
