package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/oobtpm/oob/internal/emulator/httpapi"
)

func bulkOf(t *testing.T, r response) bulkResult {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("bulk status %d: %s", r.status, r.body)
	}
	var res bulkResult
	if err := json.Unmarshal(r.body, &res); err != nil {
		t.Fatal(err)
	}
	return res
}

func errorsByID(res bulkResult) map[string]int {
	m := map[string]int{}
	for _, e := range res.Errors {
		m[e.RegistrationID] = e.ErrorCode
	}
	return m
}

func TestBulkMixedResults(t *testing.T) {
	env := newTestEnv(t, nil)
	existing := env.enrollment(env.do(http.MethodPut, "/enrollments/b-0", tpmEnrollment(t, "b-0"), nil), http.StatusOK)

	bad := tpmEnrollment(t, "b-bad")
	bad["attestation"].(map[string]any)["tpm"] = map[string]any{"endorsementKey": "AAAA"}
	res := bulkOf(t, env.do(http.MethodPost, "/enrollments", map[string]any{
		"mode":        "create",
		"enrollments": []any{tpmEnrollment(t, "b-0"), tpmEnrollment(t, "b-1"), bad, tpmEnrollment(t, "b-2"), tpmEnrollment(t, "b-1")},
	}, nil))
	if res.IsSuccessful {
		t.Fatal("isSuccessful with failed items")
	}
	got := errorsByID(res)
	want := map[string]int{"b-0": httpapi.CodeConflict, "b-bad": httpapi.CodeInvalidArgument, "b-1": httpapi.CodeInvalidArgument}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("errors %v, want %v (%+v)", got, want, res.Errors)
	}
	for _, id := range []string{"b-1", "b-2"} {
		env.enrollment(env.do(http.MethodGet, "/enrollments/"+id, nil, nil), http.StatusOK)
	}
	if r := env.do(http.MethodGet, "/enrollments/b-bad", nil, nil); r.status != http.StatusNotFound {
		t.Fatalf("invalid item stored: %d", r.status)
	}

	// updateIfMatchETag: a stale etag fails the item, the current one passes.
	b1 := env.enrollment(env.do(http.MethodGet, "/enrollments/b-1", nil, nil), http.StatusOK)
	stale, current := tpmEnrollment(t, "b-0"), tpmEnrollment(t, "b-1")
	stale["etag"], current["etag"] = b1.ETag, b1.ETag
	res = bulkOf(t, env.do(http.MethodPost, "/enrollments", map[string]any{"mode": "updateIfMatchETag", "enrollments": []any{stale, current}}, nil))
	if got := errorsByID(res); len(got) != 1 || got["b-0"] != httpapi.CodePreconditionFailed {
		t.Fatalf("updateIfMatchETag errors %v", res.Errors)
	}
	if after := env.enrollment(env.do(http.MethodGet, "/enrollments/b-0", nil, nil), http.StatusOK); after.ETag != existing.ETag {
		t.Fatal("item with a stale etag was written")
	}

	// update is create-or-update and ignores etags.
	res = bulkOf(t, env.do(http.MethodPost, "/enrollments", map[string]any{"mode": "update", "enrollments": []any{stale, tpmEnrollment(t, "b-3")}}, nil))
	if !res.IsSuccessful || len(res.Errors) != 0 {
		t.Fatalf("update: %+v", res)
	}

	// delete: a missing enrollment fails its item only.
	res = bulkOf(t, env.do(http.MethodPost, "/enrollments", map[string]any{"mode": "delete", "enrollments": []any{
		map[string]any{"registrationId": "b-2"}, map[string]any{"registrationId": "nope"},
	}}, nil))
	if got := errorsByID(res); len(got) != 1 || got["nope"] != httpapi.CodeEnrollmentNotFound {
		t.Fatalf("delete errors %v", res.Errors)
	}
	if r := env.do(http.MethodGet, "/enrollments/b-2", nil, nil); r.status != http.StatusNotFound {
		t.Fatalf("b-2 not deleted: %d", r.status)
	}
}

func TestBulkRequestErrors(t *testing.T) {
	env := newTestEnv(t, nil)
	eleven := make([]any, 11)
	for i := range eleven {
		eleven[i] = tpmEnrollment(t, fmt.Sprintf("d-%d", i))
	}
	cases := []struct {
		name string
		body any
		code int
	}{
		{"more than ten", map[string]any{"mode": "create", "enrollments": eleven}, httpapi.CodeInvalidArgument},
		{"no items", map[string]any{"mode": "create", "enrollments": []any{}}, httpapi.CodeInvalidArgument},
		{"no mode", map[string]any{"enrollments": eleven[:1]}, httpapi.CodeInvalidArgument},
		{"bad mode", map[string]any{"mode": "upsert", "enrollments": eleven[:1]}, httpapi.CodeInvalidArgument},
		{"not JSON", "[", httpapi.CodeMalformedBody},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := env.do(http.MethodPost, "/enrollments", c.body, nil)
			if r.status != c.code/1000 || r.errBody(t).ErrorCode != c.code {
				t.Fatalf("status %d, want code %d: %s", r.status, c.code, r.body)
			}
		})
	}
	res := bulkOf(t, env.do(http.MethodPost, "/enrollments", map[string]any{"mode": "create", "enrollments": eleven[:10]}, nil))
	if !res.IsSuccessful {
		t.Fatalf("ten items: %+v", res)
	}
}
