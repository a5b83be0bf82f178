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
