package retry

import (
	"context"
	"net/http"
	"testing"
	"time"
)

func TestAfter(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		header string
		want   time.Duration
		ok     bool
	}{
		{"3", 3 * time.Second, true},
		{" 0 ", 0, true},
		{"-1", 0, false},
		{"soon", 0, false},
		{"", 0, false},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
		{"99999999999", 24 * time.Hour, true},
	} {
		h := http.Header{}
		if tc.header != "" {
			h.Set("Retry-After", tc.header)
		}
		if d, ok := After(h, now); d != tc.want || ok != tc.ok {
			t.Errorf("Retry-After %q: %v %v, want %v %v", tc.header, d, ok, tc.want, tc.ok)
		}
	}
}

func TestBackoffStaysInBounds(t *testing.T) {
	p := Policy{BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second}.WithDefaults()
	for n := 1; n <= 12; n++ {
		full := min(p.BaseDelay<<(n-1), p.MaxDelay)
		for range 50 {
			if d := p.Backoff(n); d < full/2 || d > full {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", n, d, full/2, full)
			}
		}
	}
}

func TestWaitCapsRetryAfter(t *testing.T) {
	p := Policy{MaxRetryAfter: 10 * time.Second}.WithDefaults()
	h := http.Header{"Retry-After": {"600"}}
	if d := p.Wait(1, h, time.Now()); d != 10*time.Second {
		t.Fatalf("Wait with Retry-After 600 = %v, want the 10 s cap", d)
	}
}

func TestSleepReturnsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Sleep(ctx, time.Hour); err != context.Canceled {
		t.Fatalf("Sleep on a cancelled context = %v", err)
	}
}
