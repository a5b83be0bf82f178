package emulator

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/emulator/httpapi"
	"github.com/oobtpm/oob/internal/emulator/store"
)

func TestAuthentication(t *testing.T) {
	env := newTestEnv(t, nil)
	good := env.token()
	otherKey := "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	cases := []struct {
		name   string
		header string
		want   int
	}{
		{"valid token", good, http.StatusNotFound},
		{"missing header", "", http.StatusUnauthorized},
		{"not a SAS", "Bearer abc", http.StatusUnauthorized},
		{"SAS without fields", "SharedAccessSignature ", http.StatusUnauthorized},
		{"SAS missing sig", strings.Replace(good, "&sig=", "&x=", 1), http.StatusUnauthorized},
		{"SAS with junk field", good + "&foo=bar", http.StatusUnauthorized},
		{"wrong key", makeSAS(testHost, store.PolicyName, otherKey, time.Now().Add(time.Hour)), http.StatusUnauthorized},
		{"wrong policy", makeSAS(testHost, "registryReadWrite", env.id.PolicyKey, time.Now().Add(time.Hour)), http.StatusUnauthorized},
		{"wrong resource", makeSAS("other.azure-devices-provisioning.net", store.PolicyName, env.id.PolicyKey, time.Now().Add(time.Hour)), http.StatusUnauthorized},
		{"expired", makeSAS(testHost, store.PolicyName, env.id.PolicyKey, time.Now().Add(-time.Minute)), http.StatusUnauthorized},
		{"resource in other case", makeSAS(strings.ToUpper(testHost), store.PolicyName, env.id.PolicyKey, time.Now().Add(time.Hour)), http.StatusNotFound},
		// Microsoft's Node client passes milliseconds where seconds belong: a far-future expiry.
		{"expiry in milliseconds", makeSAS(testHost, store.PolicyName, env.id.PolicyKey, time.UnixMilli(time.Now().UnixMilli()*1000)), http.StatusNotFound},
		{"expiry in milliseconds, wrong key", makeSAS(testHost, store.PolicyName, otherKey, time.UnixMilli(time.Now().UnixMilli()*1000)), http.StatusUnauthorized},
		{"expiry in milliseconds, wrong resource", makeSAS("other.localhost", store.PolicyName, env.id.PolicyKey, time.UnixMilli(time.Now().UnixMilli()*1000)), http.StatusUnauthorized},
		{"token for a path the request is under", makeSAS(testHost+"/enrollments", store.PolicyName, env.id.PolicyKey, time.Now().Add(time.Hour)), http.StatusNotFound},
		{"token for another path", makeSAS(testHost+"/registrations", store.PolicyName, env.id.PolicyKey, time.Now().Add(time.Hour)), http.StatusUnauthorized},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := env.do(http.MethodGet, "/enrollments/some-device", nil, map[string]string{"Authorization": c.header})
			if r.status != c.want {
				t.Fatalf("status %d, want %d: %s", r.status, c.want, r.body)
			}
			b := r.errBody(t)
			if c.want == http.StatusUnauthorized && b.ErrorCode != httpapi.CodeUnauthorized {
				t.Fatalf("errorCode %d, want %d", b.ErrorCode, httpapi.CodeUnauthorized)
			}
			if strings.Contains(string(r.body), env.id.PolicyKey) {
				t.Fatal("error body reveals the policy key")
			}
		})
	}
}

func TestAPIVersion(t *testing.T) {
	env := newTestEnv(t, nil)
	cases := []struct {
		name, query string
		want, code  int
	}{
		{"missing", "", http.StatusBadRequest, httpapi.CodeInvalidAPIVersion},
		{"empty", "?api-version=", http.StatusBadRequest, httpapi.CodeInvalidAPIVersion},
		{"unknown", "?api-version=2099-01-01", http.StatusBadRequest, httpapi.CodeInvalidAPIVersion},
		{"current", "?api-version=2021-10-01", http.StatusNotFound, httpapi.CodeEnrollmentNotFound},
		{"older stable", "?api-version=2018-04-01", http.StatusNotFound, httpapi.CodeEnrollmentNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := env.do(http.MethodGet, "/enrollments/dev"+c.query, nil, map[string]string{"api-version": ""})
			if r.status != c.want || r.errBody(t).ErrorCode != c.code {
				t.Fatalf("status %d, want %d with code %d: %s", r.status, c.want, c.code, r.body)
			}
			if got := r.header.Get("x-ms-error-code"); got == "" {
				t.Fatal("no x-ms-error-code header")
			}
		})
	}
}

func TestRoutes(t *testing.T) {
	env := newTestEnv(t, nil)
	cases := []struct {
		method, path string
		want, code   int
	}{
		{http.MethodGet, "/", http.StatusNotFound, httpapi.CodeNotFound},
		{http.MethodGet, "/devices/x", http.StatusNotFound, httpapi.CodeNotFound},
		{http.MethodGet, "/enrollments/a/b/c", http.StatusNotFound, httpapi.CodeNotFound},
		{http.MethodGet, "/enrollmentGroups/g", http.StatusNotFound, httpapi.CodeEnrollmentGroupNotFound},
		{http.MethodGet, "/enrollmentGroups/g/x", http.StatusNotFound, httpapi.CodeNotFound},
		{http.MethodPatch, "/enrollmentGroups/g", http.StatusMethodNotAllowed, httpapi.CodeMethodNotAllowed},
		{http.MethodGet, "/enrollments", http.StatusMethodNotAllowed, httpapi.CodeMethodNotAllowed},
		{http.MethodPatch, "/enrollments/dev", http.StatusMethodNotAllowed, httpapi.CodeMethodNotAllowed},
		{http.MethodPut, "/registrations/dev", http.StatusMethodNotAllowed, httpapi.CodeMethodNotAllowed},
		{http.MethodGet, "/enrollments/dev/attestationmechanism", http.StatusMethodNotAllowed, httpapi.CodeMethodNotAllowed},
		// GET /enrollments/query reads the enrollment whose ID is "query", as the service routes it.
		{http.MethodGet, "/enrollments/query", http.StatusNotFound, httpapi.CodeEnrollmentNotFound},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			r := env.do(c.method, c.path, nil, nil)
			if r.status != c.want || r.errBody(t).ErrorCode != c.code {
				t.Fatalf("status %d, want %d with code %d: %s", r.status, c.want, c.code, r.body)
			}
		})
	}
}

func TestBodyLimits(t *testing.T) {
	env := newTestEnv(t, func(o *Options) { o.MaxBodyBytes = 4 << 10; o.MaxBulkBodyBytes = 16 << 10 })
	big := tpmEnrollment(t, "big")
	big["initialTwin"] = map[string]any{"tags": map[string]any{"pad": strings.Repeat("x", 8<<10)}}
	r := env.do(http.MethodPut, "/enrollments/big", big, nil)
	if r.status != http.StatusRequestEntityTooLarge || r.errBody(t).ErrorCode != httpapi.CodeBodyTooLarge {
		t.Fatalf("single: status %d: %s", r.status, r.body)
	}
	// The same body fits the bulk limit.
	r = env.do(http.MethodPost, "/enrollments", map[string]any{"mode": "create", "enrollments": []any{big}}, nil)
	if r.status != http.StatusOK {
		t.Fatalf("bulk within its limit: status %d: %s", r.status, r.body)
	}
	r = env.do(http.MethodPost, "/enrollments", map[string]any{"mode": "create", "enrollments": []any{big, big, big}}, nil)
	if r.status != http.StatusRequestEntityTooLarge || r.errBody(t).ErrorCode != httpapi.CodeBodyTooLarge {
		t.Fatalf("bulk: status %d: %s", r.status, r.body)
	}
	r = env.do(http.MethodPut, "/enrollments/dev", "<xml/>", map[string]string{"Content-Type": "text/xml"})
	if r.status != http.StatusUnsupportedMediaType {
		t.Fatalf("text/xml: status %d: %s", r.status, r.body)
	}
}

func TestRoutesPathForms(t *testing.T) {
	env := newTestEnv(t, nil)
	if r := env.do(http.MethodPut, "/enrollments/a%3Ab", tpmEnrollment(t, "a:b"), nil); r.status != http.StatusOK {
		t.Fatalf("PUT a%%3Ab: status %d: %s", r.status, r.body)
	}
	cases := []struct {
		method, path string
		want, code   int
		allow        string
	}{
		// Leading and trailing slashes do not change the route.
		{http.MethodGet, "/enrollments/nobody/", http.StatusNotFound, httpapi.CodeEnrollmentNotFound, ""},
		{http.MethodGet, "//enrollments/nobody", http.StatusNotFound, httpapi.CodeEnrollmentNotFound, ""},
		// An empty segment is no path the service serves.
		{http.MethodGet, "/enrollments//nobody", http.StatusNotFound, httpapi.CodeNotFound, ""},
		// A dot segment is an ID like any other: no redirect, no path cleaning.
		{http.MethodGet, "/enrollments/..", 0, 0, ""},
		// HEAD is not GET.
		{http.MethodHead, "/enrollments/nobody", http.StatusMethodNotAllowed, 0, "GET, PUT, DELETE"},
		{http.MethodPatch, "/enrollments/nobody", http.StatusMethodNotAllowed, httpapi.CodeMethodNotAllowed, "GET, PUT, DELETE"},
		{http.MethodGet, "/enrollments", http.StatusMethodNotAllowed, httpapi.CodeMethodNotAllowed, "POST"},
		{http.MethodDelete, "/registrations/nobody", http.StatusNotFound, 0, ""},
		{http.MethodGet, "/0ne00000000/registrations/dev/register", http.StatusMethodNotAllowed, httpapi.CodeMethodNotAllowed, "PUT"},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			r := env.do(c.method, c.path, nil, nil)
			if c.want == 0 {
				if r.status/100 == 3 || r.status == http.StatusOK || r.errBody(t).ErrorCode == 0 {
					t.Fatalf("status %d, want a DPS error: %s", r.status, r.body)
				}
				return
			}
			if r.status != c.want {
				t.Fatalf("status %d, want %d: %s", r.status, c.want, r.body)
			}
			if c.code != 0 && r.errBody(t).ErrorCode != c.code {
				t.Fatalf("code %d, want %d: %s", r.errBody(t).ErrorCode, c.code, r.body)
			}
			if got := r.header.Get("Allow"); got != c.allow {
				t.Fatalf("Allow %q, want %q", got, c.allow)
			}
		})
	}
	// A percent-encoded ID reads back under the ID it encodes.
	if r := env.do(http.MethodGet, "/enrollments/a:b", nil, nil); r.status != http.StatusOK {
		t.Fatalf("GET a:b: status %d: %s", r.status, r.body)
	}
}
