package dps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"
)

func TestQueryPaging(t *testing.T) {
	ctx := context.Background()
	f, srv := newFakeDPS(t)
	c, _ := newTestClient(t, srv, nil)
	for _, e := range manyEnrollments(25, "dev") {
		f.enrollments[e.RegistrationID] = e
	}
	var ids []string
	for e, err := range c.QueryEnrollments(ctx, "*", 10) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, e.RegistrationID)
	}
	if len(ids) != 25 || ids[0] != "dev-00" || ids[24] != "dev-24" {
		t.Fatalf("ids = %v", ids)
	}
	reqs := f.seen()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3 pages", len(reqs))
	}
	for i, r := range reqs {
		var q QuerySpecification
		if err := json.Unmarshal(r.body, &q); err != nil || q.Query != "*" || r.path != "/enrollments/query" {
			t.Errorf("request %d: %s %s", i, r.path, r.body)
		}
		if r.header.Get(HeaderMaxItemCount) != "10" {
			t.Errorf("request %d: page size %q", i, r.header.Get(HeaderMaxItemCount))
		}
		if want := []string{"", "10", "20"}[i]; r.header.Get(HeaderContinuation) != want {
			t.Errorf("request %d: continuation %q, want %q", i, r.header.Get(HeaderContinuation), want)
		}
	}
}

func TestQueryStopsEarly(t *testing.T) {
	f, srv := newFakeDPS(t)
	c, _ := newTestClient(t, srv, nil)
	for _, e := range manyEnrollments(25, "dev") {
		f.enrollments[e.RegistrationID] = e
	}
	n := 0
	for range c.QueryEnrollments(context.Background(), "*", 10) {
		if n++; n == 3 {
			break
		}
	}
	if len(f.seen()) != 1 {
		t.Errorf("%d pages fetched for 3 items of the first page", len(f.seen()))
	}
}

func TestQueryError(t *testing.T) {
	f, srv := newFakeDPS(t)
	c, _ := newTestClient(t, srv, nil)
	f.addFaults(fault{status: 401, body: `{"errorCode":401002}`})
	var errs []error
	for _, err := range c.QueryEnrollments(context.Background(), "*", 10) {
		errs = append(errs, err)
	}
	if len(errs) != 1 || !IsUnauthorized(errs[0]) {
		t.Errorf("errs = %v, want one unauthorized", errs)
	}
}

func TestQueryRepeatedContinuation(t *testing.T) {
	_, srv := newFakeDPS(t)
	loop := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(HeaderContinuation, "same")
		fmt.Fprint(w, `[{"registrationId":"a","attestation":{"type":"tpm"}}]`)
	})
	srv.Config.Handler = loop
	c, _ := newTestClient(t, srv, nil)
	var last error
	n := 0
	for _, err := range c.QueryEnrollments(context.Background(), "*", 1) {
		n++
		last = err
		if n > 10 {
			t.Fatal("the pager follows a continuation token that never changes")
		}
	}
	if !errors.Is(last, ErrBadResponse) {
		t.Errorf("last = %v, want ErrBadResponse", last)
	}
}
