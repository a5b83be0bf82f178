package dps

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/oobtpm/oob/pkg/dpsapi"
)

// TestRequestHeaders checks what every request carries. On the fake: the emulator does not tell
// what headers it received (the lifecycle itself is tested against the emulator).
func TestRequestHeaders(t *testing.T) {
	ctx := context.Background()
	f, srv := newFakeDPS(t)
	c, _ := newTestClient(t, srv, func(o *Options) { o.UserAgent = "companion/test" })
	created, err := c.CreateOrUpdateEnrollment(ctx, tpmEnrollment("dev-1"), "")
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if _, err := c.GetEnrollment(ctx, "dev-1"); err != nil {
		t.Fatalf("get: %v", err)
	}
	if err := c.DeleteEnrollment(ctx, "dev-1", created.ETag); err != nil {
		t.Fatalf("delete: %v", err)
	}
	reqs := f.seen()
	if len(reqs) != 3 || reqs[2].header.Get("If-Match") != created.ETag {
		t.Fatalf("%d requests; delete If-Match %q, want %q", len(reqs), reqs[len(reqs)-1].header.Get("If-Match"), created.ETag)
	}
	// Every request named the API version and identified the client; bodies were JSON.
	for _, r := range reqs {
		if r.query != "api-version="+dpsapi.ServiceAPIVersion {
			t.Errorf("%s %s: query %q", r.method, r.path, r.query)
		}
		if ua := r.header.Get("User-Agent"); ua != "companion/test" {
			t.Errorf("%s %s: User-Agent %q", r.method, r.path, ua)
		}
		if len(r.body) > 0 && r.header.Get("Content-Type") != "application/json; charset=utf-8" {
			t.Errorf("%s %s: Content-Type %q", r.method, r.path, r.header.Get("Content-Type"))
		}
	}
}

// TestConflictAndForbidden runs on the fake: the emulator answers no single-enrollment request with
// 409 (only bulk items conflict) and none with 403 (it has one policy, with every right).
func TestConflictAndForbidden(t *testing.T) {
	ctx := context.Background()
	f, srv := newFakeDPS(t)
	c, sl := newTestClient(t, srv, nil)
	f.addFaults(fault{status: 409, body: `{"errorCode":409201,"trackingId":"t1","message":"Enrollment already exists"}`})
	_, err := c.CreateOrUpdateEnrollment(ctx, tpmEnrollment("dev-1"), "")
	if !IsConflict(err) || IsNotFound(err) {
		t.Fatalf("err = %v, want conflict", err)
	}
	f.addFaults(fault{status: 403, body: `{"errorCode":403002,"message":"Forbidden"}`})
	_, err = c.GetEnrollment(ctx, "dev-1")
	if !errors.Is(err, ErrForbidden) || !strings.Contains(err.Error(), "provisioningserviceowner") {
		t.Fatalf("err = %v, want forbidden naming the right policy", err)
	}
	if n := len(sl.All()); n != 0 {
		t.Errorf("4xx answers were retried %d times", n)
	}
}
