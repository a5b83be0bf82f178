package dps

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The tests in this file run on the fake's server: the emulator never sends a bad or oversized
// body, nor a non-JSON error, and does not tell which Authorization headers it received.

func TestBadResponses(t *testing.T) {
	tests := []struct {
		name string
		body string
	}{
		{"html", "<html><body>Sign in to the hotel Wi-Fi</body></html>"},
		{"empty", ""},
		{"null", "null"},
		{"string", `"ok"`},
		{"array for object", `[{"registrationId":"dev-1"}]`},
		{"trailing data", `{"registrationId":"dev-1"} {"x":1}`},
		{"truncated", `{"registrationId":"dev-1","attestation":{`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, srv := newFakeDPS(t)
			srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(200)
				fmt.Fprint(w, tt.body)
			})
			c, sl := newTestClient(t, srv, nil)
			_, err := c.GetEnrollment(context.Background(), "dev-1")
			if !errors.Is(err, ErrBadResponse) || !strings.Contains(err.Error(), "check the endpoint") {
				t.Fatalf("err = %v, want ErrBadResponse with advice", err)
			}
			if len(sl.All()) != 0 {
				t.Error("a bad response was retried")
			}
		})
	}
}

func TestOversizedResponse(t *testing.T) {
	_, srv := newFakeDPS(t)
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"registrationId":"%s"}`, strings.Repeat("a", 4096))
	})
	c, _ := newTestClient(t, srv, func(o *Options) { o.MaxResponseBytes = 1024 })
	if _, err := c.GetEnrollment(context.Background(), "dev-1"); !errors.Is(err, ErrBadResponse) {
		t.Fatalf("err = %v, want ErrBadResponse", err)
	}
}

func TestErrorBodyNotJSON(t *testing.T) {
	f, srv := newFakeDPS(t)
	c, _ := newTestClient(t, srv, nil)
	f.addFaults(fault{status: 404, body: "<html>\x1b[31mNot Found</html>"})
	_, err := c.GetEnrollment(context.Background(), "dev-1")
	if !IsNotFound(err) {
		t.Fatalf("err = %v", err)
	}
	if strings.ContainsRune(err.Error(), 0x1b) || !strings.Contains(err.Error(), "Not Found") {
		t.Errorf("message %q should quote the body without control characters", err)
	}
}

func TestTokenReused(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	f, srv := newFakeDPS(t)
	c, _ := newTestClient(t, srv, func(o *Options) {
		o.Now = func() time.Time { return now }
		o.TokenLifetime = 20 * time.Minute
	})
	for range 3 {
		c.GetEnrollment(ctx, "dev-1")
	}
	now = now.Add(19 * time.Minute) // within the refresh margin of the 20-minute token
	c.GetEnrollment(ctx, "dev-1")
	var toks []string
	for _, r := range f.seen() {
		toks = append(toks, r.header.Get("Authorization"))
	}
	if toks[0] != toks[1] || toks[1] != toks[2] {
		t.Error("a fresh token was signed for each request")
	}
	if toks[3] == toks[2] {
		t.Error("a token near its expiry was reused")
	}
	if !strings.Contains(toks[0], "skn="+fakePolicy) || !strings.Contains(toks[0], "sr="+fakeHost) {
		t.Errorf("token %q does not name the policy and host", toks[0])
	}
}

func TestErrorSentinels(t *testing.T) {
	tests := []struct {
		err  *Error
		want error
	}{
		{&Error{StatusCode: 404, ErrorCode: 404201}, ErrNotFound},
		{&Error{ErrorCode: 409201}, ErrConflict}, // status from the code when the status is unknown
		{&Error{StatusCode: 412}, ErrPreconditionFailed},
		{&Error{StatusCode: 401}, ErrUnauthorized},
		{&Error{StatusCode: 429}, ErrThrottled},
		{&Error{StatusCode: 503}, ErrUnavailable},
		{&Error{StatusCode: 400, ErrorCode: 400004}, ErrBadRequest},
	}
	all := []error{ErrNotFound, ErrConflict, ErrPreconditionFailed, ErrUnauthorized, ErrForbidden, ErrThrottled, ErrUnavailable, ErrBadRequest}
	for _, tt := range tests {
		wrapped := fmt.Errorf("enrolling: %w", tt.err)
		for _, s := range all {
			if got := errors.Is(wrapped, s); got != (s == tt.want) {
				t.Errorf("errors.Is(%v, %v) = %v", tt.err, s, got)
			}
		}
	}
}
