package dps

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestRetryHonoursRetryAfter runs on the fake for the answers the emulator never gives: a 500, an
// HTML body, Retry-After as an HTTP date and as zero (retries on its 429 and 503 are tested
// against it).
func TestRetryHonoursRetryAfter(t *testing.T) {
	ctx := context.Background()
	// A clock stopped on a whole second, so an HTTP-date Retry-After converts exactly.
	now := time.Now().Truncate(time.Second)
	f, srv := newFakeDPS(t)
	c, sl := newTestClient(t, srv, func(o *Options) { o.Now = func() time.Time { return now } })
	f.addFaults(
		fault{status: 429, retryAfter: "1", body: `{"errorCode":429001,"message":"throttled"}`},
		fault{status: 503, retryAfter: "0", body: "<html>Service Unavailable</html>"},
		fault{status: 500, retryAfter: now.Add(2 * time.Second).Format(http.TimeFormat)},
	)
	out, err := c.CreateOrUpdateEnrollment(ctx, tpmEnrollment("dev-1"), "")
	if err != nil {
		t.Fatalf("create after transient failures: %v", err)
	}
	if out.RegistrationID != "dev-1" {
		t.Errorf("out = %+v", out)
	}
	reqs := f.seen()
	if len(reqs) != 4 {
		t.Fatalf("%d attempts, want 4", len(reqs))
	}
	want := []time.Duration{time.Second, 0, 2 * time.Second}
	if got := sl.All(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("waits = %v, want %v (the server's Retry-After)", got, want)
	}
	// The body was sent whole on every attempt.
	for i, r := range reqs[1:] {
		if !bytes.Equal(r.body, reqs[0].body) || len(r.body) == 0 {
			t.Errorf("attempt %d body differs: %q vs %q", i+2, r.body, reqs[0].body)
		}
	}
}

// TestRetryBackoffWithoutRetryAfter runs on the fake: the emulator always sends Retry-After.
func TestRetryBackoffWithoutRetryAfter(t *testing.T) {
	f, srv := newFakeDPS(t)
	c, sl := newTestClient(t, srv, func(o *Options) {
		o.Retry = RetryPolicy{MaxAttempts: 4, BaseDelay: 100 * time.Millisecond, MaxDelay: 250 * time.Millisecond}
	})
	for range 4 {
		f.addFaults(fault{status: 500})
	}
	_, err := c.GetEnrollment(context.Background(), "dev-1")
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "try again later") {
		t.Fatalf("err = %v, want unavailable after the last attempt", err)
	}
	if n := len(f.seen()); n != 4 {
		t.Errorf("%d attempts, want MaxAttempts = 4", n)
	}
	// Each wait is within [d/2, d] of its exponential step, capped at MaxDelay.
	steps := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 250 * time.Millisecond}
	got := sl.All()
	if len(got) != len(steps) {
		t.Fatalf("waits = %v", got)
	}
	for i, d := range got {
		if d < steps[i]/2 || d > steps[i] {
			t.Errorf("wait %d = %v, want within [%v, %v]", i, d, steps[i]/2, steps[i])
		}
	}
}

// TestNoRetryOn4xx runs on the fake: its 4xx answers carry a Retry-After, which the emulator's never
// do, to show the client ignores it there.
func TestNoRetryOn4xx(t *testing.T) {
	for _, status := range []int{400, 401, 404, 409, 412} {
		f, srv := newFakeDPS(t)
		c, sl := newTestClient(t, srv, nil)
		f.addFaults(fault{status: status, retryAfter: "1", body: fmt.Sprintf(`{"errorCode":%d001}`, status)})
		_, err := c.GetEnrollment(context.Background(), "dev-1")
		var apiErr *Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != status {
			t.Errorf("%d: err = %v", status, err)
		}
		if len(f.seen()) != 1 || len(sl.All()) != 0 {
			t.Errorf("%d was retried", status)
		}
	}
}
