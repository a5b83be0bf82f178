package dps

// This file holds a minimal stand-in for the DPS service API, enough to exercise the client over
// real TLS. It is deliberately small; once the emulator (pkg/emulator) serves the same API these
// tests should run against it instead, and this fake should go.

import (
	"context"
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

// fakeDPS is the fake service: enrollments and registration states in memory, SAS checked with
// pkg/sas, and knobs to inject faults per request.
type fakeDPS struct {
	t   *testing.T
	key sas.Key

	mu            sync.Mutex
	enrollments   map[string]IndividualEnrollment
	registrations map[string]DeviceRegistrationState
	etag          int
	faults        []fault // consumed one per request, in order
	requests      []seen
	// faultOn, when set, picks which requests get the next fault (by method and path).
	faultOn func(r *http.Request) bool
}

func newFakeDPS(t *testing.T) (*fakeDPS, *httptest.Server) {
	t.Helper()
	key, err := sas.ParseKey(fakeKeyB64)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeDPS{t: t, key: key, enrollments: map[string]IndividualEnrollment{}, registrations: map[string]DeviceRegistrationState{}}
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
	if r.URL.Query().Get("api-version") != APIVersion {
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
	case len(seg) == 2 && seg[0] == "enrollments" && seg[1] == "query" && r.Method == http.MethodPost:
		f.query(w, r)
	case len(seg) == 2 && seg[0] == "enrollments":
		f.enrollment(w, r, seg[1], body)
	case len(seg) == 1 && seg[0] == "enrollments" && r.Method == http.MethodPost:
		f.bulk(w, body)
	case len(seg) == 2 && seg[0] == "registrations":
		f.registration(w, r, seg[1])
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
		var e IndividualEnrollment
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

// bulk creates (or deletes) each enrollment; a create of an existing one is a per-item 409.
func (f *fakeDPS) bulk(w http.ResponseWriter, body []byte) {
	var op BulkEnrollmentOperation
	if err := json.Unmarshal(body, &op); err != nil || len(op.Enrollments) > MaxBulkEnrollments {
		writeErr(w, 400, 400000, "bad bulk operation")
		return
	}
	res := BulkEnrollmentOperationResult{IsSuccessful: true}
	for _, e := range op.Enrollments {
		_, exists := f.enrollments[e.RegistrationID]
		switch {
		case op.Mode == BulkCreate && exists:
			res.IsSuccessful = false
			res.Errors = append(res.Errors, BulkEnrollmentOperationError{RegistrationID: e.RegistrationID, ErrorCode: 409201, ErrorStatus: "Conflict"})
		case op.Mode == BulkDelete:
			delete(f.enrollments, e.RegistrationID)
		default:
			f.etag++
			e.ETag = strconv.Quote(strconv.Itoa(f.etag))
			f.enrollments[e.RegistrationID] = e
		}
	}
	writeJSON(w, 200, res)
}

// query pages through the enrollments sorted by ID; the continuation token is the next index.
func (f *fakeDPS) query(w http.ResponseWriter, r *http.Request) {
	size, err := strconv.Atoi(r.Header.Get(HeaderMaxItemCount))
	if err != nil || size <= 0 {
		size = 1000
	}
	start := 0
	if c := r.Header.Get(HeaderContinuation); c != "" {
		if start, err = strconv.Atoi(c); err != nil {
			writeErr(w, 400, 400000, "bad continuation")
			return
		}
	}
	ids := make([]string, 0, len(f.enrollments))
	for id := range f.enrollments {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	page := []IndividualEnrollment{}
	for _, id := range ids[min(start, len(ids)):min(start+size, len(ids))] {
		page = append(page, f.enrollments[id])
	}
	if start+size < len(ids) {
		w.Header().Set(HeaderContinuation, strconv.Itoa(start+size))
	}
	w.Header().Set(HeaderItemType, "Enrollment")
	writeJSON(w, 200, page)
}

func (f *fakeDPS) registration(w http.ResponseWriter, r *http.Request, id string) {
	st, ok := f.registrations[id]
	if !ok {
		writeErr(w, 404, 404202, "Registration not found")
		return
	}
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, 200, st)
	case http.MethodDelete:
		delete(f.registrations, id)
		w.WriteHeader(204)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status, code int, msg string) {
	writeJSON(w, status, ErrorDetails{ErrorCode: code, TrackingID: fmt.Sprintf("track-%d", code), Message: msg, TimestampUTC: "2024-03-05T10:15:30.1234567Z"})
}

// sleeps records the waits a client asked for, without waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.d)
}

// newTestClient returns a client for the fake over TLS, trusting only the fake's certificate,
// with sleeps recorded instead of taken.
func newTestClient(t *testing.T, srv *httptest.Server, mod func(*Options)) (*Client, *sleeps) {
	t.Helper()
	cs, err := sas.ParseConnectionString(fakeConnStr)
	if err != nil {
		t.Fatal(err)
	}
	sl := &sleeps{}
	opts := Options{
		RootCAs:  certPool(t, srv),
		Endpoint: srv.URL,
		Sleep:    sl.sleep,
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
func tpmEnrollment(id string) *IndividualEnrollment {
	return &IndividualEnrollment{
		RegistrationID: id,
		Attestation:    &Attestation{Type: AttestationTPM, TPM: &TPMAttestation{EndorsementKey: "AToAAQALAAMAsgAg"}},
	}
}
