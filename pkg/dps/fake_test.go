package dps

// This file holds a minimal stand-in for the DPS service API over TLS, for the few tests that need
// an answer the emulator (internal/emulator) never gives or need to see the requests as sent. Everything
// else is tested against the emulator itself (emulator_test.go).

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oobtpm/oob/pkg/dpsapi"
	"github.com/oobtpm/oob/pkg/sas"
)

const (
	fakeHost    = "test-dps.azure-devices-provisioning.net"
	fakeKeyB64  = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	fakePolicy  = "provisioningserviceowner"
	fakeConnStr = "HostName=" + fakeHost + ";SharedAccessKeyName=" + fakePolicy + ";SharedAccessKey=" + fakeKeyB64
)

// fault is a canned answer the fake gives instead of handling a request.
type fault struct {
	status     int
	retryAfter string
	body       string
	// hang makes the fake wait for the client to give up.
	hang bool
}

// seen is one request as the fake received it.
type seen struct {
	method, path, query string
	header              http.Header
	body                []byte
}

// fakeDPS is the fake service: enrollments in memory, SAS checked with
// pkg/sas, and knobs to inject faults per request.
type fakeDPS struct {
	t   *testing.T
	key sas.Key

	mu          sync.Mutex
	enrollments map[string]dpsapi.IndividualEnrollment
	etag        int
	faults      []fault // consumed one per request, in order
	requests    []seen
	// faultOn, when set, picks which requests get the next fault (by method and path).
	faultOn func(r *http.Request) bool
}

func newFakeDPS(t *testing.T) (*fakeDPS, *httptest.Server) {
	t.Helper()
	key, err := sas.ParseKey(fakeKeyB64)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeDPS{t: t, key: key, enrollments: map[string]dpsapi.IndividualEnrollment{}}
	srv := httptest.NewUnstartedServer(f)
	// Refused handshakes are what the TLS tests expect; their log lines are noise.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeDPS) addFaults(fs ...fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = append(f.faults, fs...)
}

func (f *fakeDPS) seen() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

func (f *fakeDPS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.requests = append(f.requests, seen{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), body})
	var ft *fault
	if len(f.faults) > 0 && (f.faultOn == nil || f.faultOn(r)) {
		ft = &f.faults[0]
		f.faults = f.faults[1:]
	}
	f.mu.Unlock()
	if ft != nil {
		if ft.hang {
			<-r.Context().Done()
			return
		}
		if ft.retryAfter != "" {
			w.Header().Set("Retry-After", ft.retryAfter)
		}
		w.WriteHeader(ft.status)
		io.WriteString(w, ft.body)
		return
	}
	if r.URL.Query().Get("api-version") != dpsapi.ServiceAPIVersion {
		writeErr(w, 400, 400001, "api-version missing or unsupported")
		return
	}
	v := sas.Verifier{Key: f.key, KeyName: fakePolicy, Resource: fakeHost}
	if _, err := v.Verify(r.Context(), r.Header.Get("Authorization")); err != nil {
		writeErr(w, 401, 401002, "Unauthorized")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch seg := strings.Split(strings.Trim(r.URL.Path, "/"), "/"); {
	case len(seg) == 2 && seg[0] == "enrollments":
		f.enrollment(w, r, seg[1], body)
	default:
		writeErr(w, 404, 404001, "no such route")
	}
}

func (f *fakeDPS) enrollment(w http.ResponseWriter, r *http.Request, id string, body []byte) {
	cur, exists := f.enrollments[id]
	ifMatch := r.Header.Get("If-Match")
	if ifMatch != "" && ifMatch != "*" && (!exists || ifMatch != cur.ETag) {
		writeErr(w, 412, 412002, "Precondition failed: ETag mismatch")
		return
	}
	switch r.Method {
	case http.MethodGet:
		if !exists {
			writeErr(w, 404, 404201, "Enrollment not found")
			return
		}
		writeJSON(w, 200, cur)
	case http.MethodPut:
		var e dpsapi.IndividualEnrollment
		if err := json.Unmarshal(body, &e); err != nil || e.RegistrationID != id || e.Attestation == nil {
			writeErr(w, 400, 400000, "bad enrollment")
			return
		}
		f.etag++
		e.ETag = strconv.Quote(strconv.Itoa(f.etag))
		now := time.Date(2024, 3, 5, 10, 0, f.etag, 0, time.UTC)
		e.LastUpdatedDateTimeUTC = now
		e.CreatedDateTimeUTC = now
		if exists {
			e.CreatedDateTimeUTC = cur.CreatedDateTimeUTC
		}
		f.enrollments[id] = e
		writeJSON(w, 200, e)
	case http.MethodDelete:
		if !exists {
			writeErr(w, 404, 404201, "Enrollment not found")
			return
		}
		delete(f.enrollments, id)
		w.WriteHeader(204)
	default:
		writeErr(w, 405, 405000, "method not allowed")
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status, code int, msg string) {
	writeJSON(w, status, dpsapi.ErrorDetails{ErrorCode: code, TrackingID: fmt.Sprintf("track-%d", code), Message: msg, TimestampUTC: "2024-03-05T10:15:30.1234567Z"})
}

// newTestClient returns a client for the fake over TLS, trusting only the fake's certificate,
// with sleeps recorded instead of taken.
func newTestClient(t *testing.T, srv *httptest.Server, mod func(*Options)) (*Client, *Sleeps) {
	t.Helper()
	cs, err := sas.ParseConnectionString(fakeConnStr)
	if err != nil {
		t.Fatal(err)
	}
	sl := &Sleeps{}
	opts := Options{
		RootCAs:  certPool(t, srv),
		Endpoint: srv.URL,
		Sleep:    sl.Sleep,
	}
	if mod != nil {
		mod(&opts)
	}
	c, err := New(cs, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c, sl
}

// tpmEnrollment is a minimal TPM enrollment as the companion creates it.
func tpmEnrollment(id string) *dpsapi.IndividualEnrollment {
	return &dpsapi.IndividualEnrollment{
		RegistrationID: id,
		Attestation:    &dpsapi.Attestation{Type: dpsapi.AttestationTPM, TPM: &dpsapi.TPMAttestation{EndorsementKey: "AToAAQALAAMAsgAg"}},
	}
}
