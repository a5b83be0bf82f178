package dps

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

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
	if got := sl.all(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("waits = %v, want %v (the server's Retry-After)", got, want)
	}
	// The body was sent whole on every attempt.
	for i, r := range reqs[1:] {
		if !bytes.Equal(r.body, reqs[0].body) || len(r.body) == 0 {
			t.Errorf("attempt %d body differs: %q vs %q", i+2, r.body, reqs[0].body)
		}
	}
}

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
	got := sl.all()
	if len(got) != len(steps) {
		t.Fatalf("waits = %v", got)
	}
	for i, d := range got {
		if d < steps[i]/2 || d > steps[i] {
			t.Errorf("wait %d = %v, want within [%v, %v]", i, d, steps[i]/2, steps[i])
		}
	}
}

func TestThrottledGivesUp(t *testing.T) {
	f, srv := newFakeDPS(t)
	c, sl := newTestClient(t, srv, func(o *Options) { o.Retry = RetryPolicy{MaxAttempts: 3, MaxRetryAfter: 10 * time.Second} })
	for range 5 {
		f.addFaults(fault{status: 429, retryAfter: "120", body: `{"errorCode":429001,"message":"Too many requests"}`})
	}
	_, err := c.GetEnrollment(context.Background(), "dev-1")
	if !IsThrottled(err) {
		t.Fatalf("err = %v, want throttled", err)
	}
	if n := len(f.seen()); n != 3 {
		t.Errorf("%d attempts, want 3", n)
	}
	for _, d := range sl.all() {
		if d != 10*time.Second {
			t.Errorf("wait %v, want Retry-After clamped to MaxRetryAfter (10s)", d)
		}
	}
}

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
		if len(f.seen()) != 1 || len(sl.all()) != 0 {
			t.Errorf("%d was retried", status)
		}
	}
}

func TestRetryAfterPastDeadline(t *testing.T) {
	f, srv := newFakeDPS(t)
	c, sl := newTestClient(t, srv, nil)
	f.addFaults(fault{status: 429, retryAfter: "60"})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	_, err := c.GetEnrollment(ctx, "dev-1")
	if !IsThrottled(err) || !strings.Contains(err.Error(), "deadline") {
		t.Fatalf("err = %v, want throttled, not retried past the deadline", err)
	}
	if len(sl.all()) != 0 || time.Since(start) > 2*time.Second {
		t.Errorf("waited for a retry that would outlive the context")
	}
}

func TestContextDeadlineWhileWaitingForServer(t *testing.T) {
	f, srv := newFakeDPS(t)
	c, _ := newTestClient(t, srv, nil)
	f.addFaults(fault{hang: true})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.GetEnrollment(ctx, "dev-1")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the context's deadline", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("returned after %v, long after the deadline", d)
	}
	if n := len(f.seen()); n != 1 {
		t.Errorf("%d attempts after the deadline passed, want 1", n)
	}
}

// flakyTransport fails the first n requests as if the connection dropped.
type flakyTransport struct {
	next http.RoundTripper
	n    atomic.Int32
}

func (t *flakyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if t.n.Add(-1) >= 0 {
		return nil, errors.New("connection reset by peer")
	}
	return t.next.RoundTrip(r)
}

func TestNetworkErrorsRetriedOnlyWhenSafe(t *testing.T) {
	ctx := context.Background()
	f, srv := newFakeDPS(t)
	ft := &flakyTransport{next: srv.Client().Transport}
	c, sl := newTestClient(t, srv, func(o *Options) { o.HTTPClient = &http.Client{Transport: ft} })

	ft.n.Store(2)
	if _, err := c.CreateOrUpdateEnrollment(ctx, tpmEnrollment("dev-1"), ""); err != nil {
		t.Fatalf("PUT after two dropped connections: %v", err)
	}
	if len(sl.all()) != 2 {
		t.Errorf("waits = %v, want 2", sl.all())
	}
	// A bulk create is not repeated blindly: it may have been applied.
	ft.n.Store(1)
	res, err := c.Bulk(ctx, BulkCreate, []IndividualEnrollment{*tpmEnrollment("dev-2")})
	if err != nil {
		t.Fatal(err)
	}
	if res.IsSuccessful || len(res.Errors) != 1 || res.Errors[0].Err == nil || !strings.Contains(res.Errors[0].ErrorStatus, "connection reset") {
		t.Errorf("bulk after a dropped connection: %+v", res)
	}
	if _, ok := f.enrollments["dev-2"]; ok {
		t.Errorf("the bulk request was resent")
	}
}
