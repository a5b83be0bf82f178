package dps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"
)

func manyEnrollments(n int, prefix string) []IndividualEnrollment {
	out := make([]IndividualEnrollment, n)
	for i := range out {
		out[i] = *tpmEnrollment(fmt.Sprintf("%s-%02d", prefix, i))
	}
	return out
}

func TestBulkChunks(t *testing.T) {
	ctx := context.Background()
	f, srv := newFakeDPS(t)
	c, _ := newTestClient(t, srv, nil)
	// Two already exist: the service refuses just those two items.
	f.enrollments["dev-03"] = *tpmEnrollment("dev-03")
	f.enrollments["dev-21"] = *tpmEnrollment("dev-21")

	res, err := c.Bulk(ctx, BulkCreate, manyEnrollments(25, "dev"))
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int
	for _, r := range f.seen() {
		var op BulkEnrollmentOperation
		if err := json.Unmarshal(r.body, &op); err != nil || r.method != http.MethodPost || r.path != "/enrollments" || op.Mode != BulkCreate {
			t.Fatalf("unexpected request %s %s %s", r.method, r.path, r.body)
		}
		sizes = append(sizes, len(op.Enrollments))
	}
	if fmt.Sprint(sizes) != "[10 10 5]" {
		t.Errorf("chunk sizes = %v, want [10 10 5]", sizes)
	}
	if res.IsSuccessful || len(res.Errors) != 2 || res.Errors[0].RegistrationID != "dev-03" || res.Errors[1].RegistrationID != "dev-21" ||
		res.Errors[0].ErrorCode != 409201 || res.Errors[0].Err != nil {
		t.Errorf("result = %+v", res)
	}
	if len(f.enrollments) != 25 {
		t.Errorf("%d enrollments stored, want 25", len(f.enrollments))
	}
}

func TestBulkChunkFailsWholesale(t *testing.T) {
	ctx := context.Background()
	f, srv := newFakeDPS(t)
	c, _ := newTestClient(t, srv, nil)
	// The second request fails as a whole; the first and third succeed.
	f.faultOn = func(r *http.Request) bool { return len(f.requests) == 2 }
	f.addFaults(fault{status: 400, body: `{"errorCode":400000,"message":"bad request"}`})
	res, err := c.Bulk(ctx, BulkUpdate, manyEnrollments(25, "dev"))
	if err != nil {
		t.Fatal(err)
	}
	if res.IsSuccessful || len(res.Errors) != 10 {
		t.Fatalf("result: %d errors, want the 10 of the failed chunk: %+v", len(res.Errors), res)
	}
	for i, e := range res.Errors {
		if want := fmt.Sprintf("dev-%02d", 10+i); e.RegistrationID != want || !errors.Is(e.Err, ErrBadRequest) || e.ErrorCode != 400000 {
			t.Errorf("item %d = %+v, want %s failed with the chunk's error", i, e, want)
		}
	}
	if len(f.enrollments) != 15 {
		t.Errorf("%d stored, want 15", len(f.enrollments))
	}
}

func TestBulkStopsAfterUnauthorized(t *testing.T) {
	f, srv := newFakeDPS(t)
	c, _ := newTestClient(t, srv, nil)
	f.addFaults(fault{status: 401, body: `{"errorCode":401002,"message":"Unauthorized"}`})
	res, err := c.Bulk(context.Background(), BulkCreate, manyEnrollments(25, "dev"))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.seen()) != 1 {
		t.Errorf("%d requests after a 401, want 1", len(f.seen()))
	}
	if len(res.Errors) != 25 || !IsUnauthorized(res.Errors[24].Err) {
		t.Errorf("every item should carry the 401: %d errors", len(res.Errors))
	}
}

func TestBulkRefusesBadInput(t *testing.T) {
	f, srv := newFakeDPS(t)
	c, _ := newTestClient(t, srv, nil)
	if _, err := c.Bulk(context.Background(), BulkMode("upsert"), manyEnrollments(1, "d")); err == nil {
		t.Error("unknown mode accepted")
	}
	bad := manyEnrollments(3, "d")
	bad[2].RegistrationID = "no spaces"
	if _, err := c.Bulk(context.Background(), BulkCreate, bad); !errors.Is(err, ErrInvalidID) {
		t.Errorf("err = %v, want ErrInvalidID", err)
	}
	if len(f.seen()) != 0 {
		t.Error("bad input reached the service")
	}
}
