package dps

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
)

func TestEnrollmentCRUD(t *testing.T) {
	ctx := context.Background()
	f, srv := newFakeDPS(t)
	c, _ := newTestClient(t, srv, func(o *Options) { o.UserAgent = "companion/test" })

	in := tpmEnrollment("dev-1")
	in.InitialTwin = &InitialTwin{Tags: json.RawMessage(`{"line":"3","site":{"bay":7}}`)}
	created, err := c.CreateOrUpdateEnrollment(ctx, in, "")
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if created.ETag == "" || created.CreatedDateTimeUTC.IsZero() {
		t.Errorf("create did not return the stored enrollment: %+v", created)
	}
	got, err := c.GetEnrollment(ctx, "dev-1")
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if got.ETag != created.ETag || string(got.InitialTwin.Tags) != `{"line":"3","site":{"bay":7}}` {
		t.Errorf("get = %+v", got)
	}

	// An update against a stale ETag is refused, with advice; the current one works.
	got.DeviceID = "renamed"
	_, err = c.CreateOrUpdateEnrollment(ctx, got, `"stale"`)
	if !IsPreconditionFailed(err) || !strings.Contains(err.Error(), "read it again") {
		t.Fatalf("stale update: err = %v, want precondition failed with advice", err)
	}
	updated, err := c.CreateOrUpdateEnrollment(ctx, got, got.ETag)
	if err != nil || updated.DeviceID != "renamed" || updated.ETag == got.ETag {
		t.Fatalf("update: %+v, %v", updated, err)
	}
	if err := c.DeleteEnrollment(ctx, "dev-1", `"stale"`); !IsPreconditionFailed(err) {
		t.Errorf("stale delete: err = %v", err)
	}
	if err := c.DeleteEnrollment(ctx, "dev-1", updated.ETag); err != nil {
		t.Fatalf("delete: %v", err)
	}
	_, err = c.GetEnrollment(ctx, "dev-1")
	var apiErr *Error
	if !IsNotFound(err) || !errors.As(err, &apiErr) || apiErr.ErrorCode != CodeEnrollmentNotFound || apiErr.TrackingID == "" {
		t.Fatalf("get after delete: err = %#v", err)
	}
	if !strings.Contains(err.Error(), "not enrolled") || !strings.Contains(err.Error(), `"dev-1"`) {
		t.Errorf("not-found message does not say the device is not enrolled: %v", err)
	}

	// Every request named the API version and identified the client; bodies were JSON.
	for _, r := range f.seen() {
		if r.query != "api-version="+APIVersion {
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
	if n := len(sl.all()); n != 0 {
		t.Errorf("4xx answers were retried %d times", n)
	}
}

func TestInvalidEndorsementKeyAdvice(t *testing.T) {
	f, srv := newFakeDPS(t)
	c, _ := newTestClient(t, srv, nil)
	f.addFaults(fault{status: 400, body: `{"errorCode":400004,"trackingId":"t","message":"Endorsement key is invalid."}`})
	_, err := c.CreateOrUpdateEnrollment(context.Background(), tpmEnrollment("dev-1"), "")
	if !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), "size prefix") {
		t.Fatalf("err = %v, want advice about the EK format", err)
	}
}

func TestUnauthorized(t *testing.T) {
	f, srv := newFakeDPS(t)
	c, sl := newTestClient(t, srv, nil)
	// Sign with a different key under the same policy name.
	c.cs.Key = c.cs.Key.DeriveDeviceKey("not the policy key")
	_, err := c.GetEnrollment(context.Background(), "dev-1")
	if !IsUnauthorized(err) {
		t.Fatalf("err = %v, want unauthorized", err)
	}
	for _, want := range []string{"connection string was refused", "copy it again from the portal", "Shared access policies"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q lacks %q", err, want)
		}
	}
	if len(f.seen()) != 1 || len(sl.all()) != 0 {
		t.Errorf("a 401 was retried: %d requests, %d sleeps", len(f.seen()), len(sl.all()))
	}
}

func TestRegistrationState(t *testing.T) {
	ctx := context.Background()
	f, srv := newFakeDPS(t)
	c, _ := newTestClient(t, srv, nil)
	f.registrations["dev-1"] = DeviceRegistrationState{RegistrationID: "dev-1", Status: RegistrationAssigned, AssignedHub: "hub.azure-devices.net", ETag: `"r1"`}
	st, err := c.GetRegistrationState(ctx, "dev-1")
	if err != nil || st.Status != RegistrationAssigned || st.AssignedHub != "hub.azure-devices.net" {
		t.Fatalf("get registration: %+v, %v", st, err)
	}
	if err := c.DeleteRegistrationState(ctx, "dev-1", ""); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetRegistrationState(ctx, "dev-1")
	if !IsNotFound(err) || !strings.Contains(err.Error(), "has not registered") {
		t.Fatalf("err = %v, want not found saying the device has not registered", err)
	}
}

func TestSetEnrollmentStatus(t *testing.T) {
	ctx := context.Background()
	f, srv := newFakeDPS(t)
	c, _ := newTestClient(t, srv, nil)
	in := tpmEnrollment("dev-1")
	in.InitialTwin = &InitialTwin{Tags: json.RawMessage(`{"line":"3"}`)}
	first, err := c.CreateOrUpdateEnrollment(ctx, in, "")
	if err != nil {
		t.Fatal(err)
	}
	// Someone else changes the enrollment between our read and our write, once.
	f.faultOn = func(r *http.Request) bool { return r.Method == "PUT" }
	f.addFaults(fault{status: 412, body: `{"errorCode":412002,"message":"ETag mismatch"}`})
	out, err := c.SetEnrollmentStatus(ctx, "dev-1", false)
	if err != nil {
		t.Fatalf("disable: %v", err)
	}
	if out.ProvisioningStatus != StatusDisabled || string(out.InitialTwin.Tags) != `{"line":"3"}` {
		t.Errorf("disable lost or did not set fields: %+v", out)
	}
	var puts []seen
	for _, r := range f.seen() {
		if r.method == "PUT" {
			puts = append(puts, r)
		}
	}
	if len(puts) != 3 { // the create, the refused write, the accepted write
		t.Fatalf("%d PUTs, want 3", len(puts))
	}
	if got := puts[2].header.Get("If-Match"); got != first.ETag {
		t.Errorf("write-back If-Match = %q, want the ETag read (%q)", got, first.ETag)
	}
	// Asking for the status it already has writes nothing.
	n := len(f.seen())
	if _, err := c.SetEnrollmentStatus(ctx, "dev-1", false); err != nil {
		t.Fatal(err)
	}
	if len(f.seen()) != n+1 {
		t.Errorf("a no-op status change sent %d requests, want 1 (the read)", len(f.seen())-n)
	}
	if _, err := c.SetEnrollmentStatus(ctx, "absent", true); !IsNotFound(err) {
		t.Errorf("status of an absent enrollment: err = %v", err)
	}
}

func TestInvalidRegistrationID(t *testing.T) {
	f, srv := newFakeDPS(t)
	c, _ := newTestClient(t, srv, nil)
	for _, id := range []string{"", "a/b", "a b", strings.Repeat("a", 129), "../x", "dev?x"} {
		if _, err := c.GetEnrollment(context.Background(), id); !errors.Is(err, ErrInvalidID) {
			t.Errorf("GetEnrollment(%q): err = %v, want ErrInvalidID", id, err)
		}
	}
	if len(f.seen()) != 0 {
		t.Errorf("invalid IDs reached the service")
	}
}
