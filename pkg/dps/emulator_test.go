package dps_test

// The client against the real emulator (internal/emulator, in process) over TLS with the emulator's own
// CA: what DPS does is what the emulator does, so these tests stand in for the service. The fake in
// fake_test.go remains only for answers the emulator never gives; each such test says which.

import (
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/ektest"
	"github.com/oobtpm/oob/internal/emulator"
	"github.com/oobtpm/oob/internal/emulator/httpapi"
	"github.com/oobtpm/oob/internal/emulatortest"
	"github.com/oobtpm/oob/pkg/dps"
	"github.com/oobtpm/oob/pkg/dpsapi"
	"github.com/oobtpm/oob/pkg/sas"
)

var (
	ekOnce sync.Once
	ek     []byte
)

// testEK returns the base64 of a default-template RSA-2048 EK with a real modulus, one per run.
func testEK(t testing.TB) string {
	return base64.StdEncoding.EncodeToString(sharedEK(t))
}

func sharedEK(t testing.TB) []byte {
	t.Helper()
	ekOnce.Do(func() { ek = ektest.New(t) })
	return ek
}

// badEK is an EK the service refuses with 400004: the TPM2B_PUBLIC without its size prefix.
func badEK(t testing.TB) string {
	raw, _ := base64.StdEncoding.DecodeString(testEK(t))
	return base64.StdEncoding.EncodeToString(raw[2:])
}

// tpmEnrollment is a TPM enrollment as the companion creates it.
func tpmEnrollment(t testing.TB, id string) *dpsapi.IndividualEnrollment {
	return ektest.Enrollment(id, sharedEK(t))
}

func enrollments(t testing.TB, n int, prefix string) []dpsapi.IndividualEnrollment {
	out := make([]dpsapi.IndividualEnrollment, n)
	for i := range out {
		out[i] = *tpmEnrollment(t, fmt.Sprintf("%s-%02d", prefix, i))
	}
	return out
}

// transport carries a client's requests to the emulator, counting them. It can drop the next few
// as a broken connection would, and run a hook once, before the first PUT it carries.
type transport struct {
	next      http.RoundTripper
	sent      atomic.Int32
	drop      atomic.Int32
	beforePut func()
	once      sync.Once
}

func (t *transport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.sent.Add(1)
	if t.drop.Add(-1) >= 0 {
		return nil, errors.New("connection reset by peer")
	}
	if r.Method == http.MethodPut && t.beforePut != nil {
		t.once.Do(t.beforePut)
	}
	return t.next.RoundTrip(r)
}

// client is a client of emu whose waits are recorded instead of taken and whose requests go
// through a transport the test can watch.
type client struct {
	*dps.Client
	waits *dps.Sleeps
	tr    *transport
}

func newClient(t *testing.T, emu *emulatortest.Emulator, mod func(*dps.Options)) client {
	t.Helper()
	c := client{waits: &dps.Sleeps{}, tr: &transport{next: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: emu.RootCAs}}}}
	opts := dps.Options{HTTPClient: &http.Client{Transport: c.tr, Timeout: time.Minute}, Sleep: c.waits.Sleep}
	if mod != nil {
		mod(&opts)
	}
	c.Client = emu.Client(t, opts)
	return c
}

// start runs an emulator for the test and returns it with a client of it.
func start(t *testing.T, mod func(*dps.Options)) (*emulatortest.Emulator, client) {
	t.Helper()
	emu := emulatortest.Start(t)
	return emu, newClient(t, emu, mod)
}

// apiError returns err's *dps.Error, failing the test when there is none.
func apiError(t *testing.T, err error) *dps.Error {
	t.Helper()
	var e *dps.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want a *dps.Error", err)
	}
	if e.TrackingID == "" || e.Message == "" {
		t.Errorf("error without the service's tracking ID or message: %#v", e)
	}
	return e
}

func TestEmulatorEnrollmentLifecycle(t *testing.T) {
	ctx := t.Context()
	_, c := start(t, nil)

	in := tpmEnrollment(t, "dev-1")
	in.DeviceID = "dev-1-device"
	in.InitialTwin = &dpsapi.InitialTwin{Tags: json.RawMessage(`{"line":"3","site":{"bay":7}}`)}
	in.Capabilities = &dpsapi.Capabilities{IoTEdge: true}
	created, err := c.CreateOrUpdateEnrollment(ctx, in, "")
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if created.ETag == "" || created.CreatedDateTimeUTC.IsZero() || created.ProvisioningStatus != dpsapi.StatusEnabled ||
		created.Attestation.TPM.EndorsementKey != testEK(t) || !created.Capabilities.IoTEdge || created.DeviceID != "dev-1-device" {
		t.Fatalf("create did not return the stored enrollment: %+v", created)
	}
	got, err := c.GetEnrollment(ctx, "dev-1")
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if got.ETag != created.ETag || string(got.InitialTwin.Tags) != string(in.InitialTwin.Tags) || !got.CreatedDateTimeUTC.Equal(created.CreatedDateTimeUTC) {
		t.Errorf("get = %+v, want what create returned", got)
	}

	// An update against a stale ETag is refused with the typed error and advice; the current works.
	got.DeviceID = "renamed"
	updated, err := c.CreateOrUpdateEnrollment(ctx, got, got.ETag)
	if err != nil || updated.DeviceID != "renamed" || updated.ETag == got.ETag || !updated.CreatedDateTimeUTC.Equal(created.CreatedDateTimeUTC) {
		t.Fatalf("update with the current ETag: %+v, %v", updated, err)
	}
	_, err = c.CreateOrUpdateEnrollment(ctx, got, created.ETag)
	if !dps.IsPreconditionFailed(err) || apiError(t, err).ErrorCode != httpapi.CodePreconditionFailed || !strings.Contains(err.Error(), "read it again") {
		t.Fatalf("stale update: err = %v, want precondition failed with advice", err)
	}
	if err := c.DeleteEnrollment(ctx, "dev-1", created.ETag); !dps.IsPreconditionFailed(err) {
		t.Errorf("stale delete: err = %v", err)
	}
	if err := c.DeleteEnrollment(ctx, "dev-1", updated.ETag); err != nil {
		t.Fatalf("delete: %v", err)
	}
	_, err = c.GetEnrollment(ctx, "dev-1")
	if !dps.IsNotFound(err) || apiError(t, err).ErrorCode != dpsapi.CodeEnrollmentNotFound {
		t.Fatalf("get after delete: err = %#v", err)
	}
	if !strings.Contains(err.Error(), "not enrolled") || !strings.Contains(err.Error(), `"dev-1"`) {
		t.Errorf("not-found message does not say the device is not enrolled: %v", err)
	}
	if len(c.waits.All()) != 0 {
		t.Errorf("4xx answers were retried: %v", c.waits.All())
	}
}

func TestEmulatorInvalidEndorsementKey(t *testing.T) {
	_, c := start(t, nil)
	in := tpmEnrollment(t, "dev-1")
	in.Attestation.TPM.EndorsementKey = badEK(t)
	_, err := c.CreateOrUpdateEnrollment(t.Context(), in, "")
	if !errors.Is(err, dps.ErrBadRequest) || apiError(t, err).ErrorCode != dpsapi.CodeInvalidEndorsementKey || !strings.Contains(err.Error(), "size prefix") {
		t.Fatalf("err = %v, want 400004 with advice about the EK format", err)
	}
}

func TestEmulatorInvalidRegistrationID(t *testing.T) {
	_, c := start(t, nil)
	for _, id := range []string{"", "a/b", "a b", strings.Repeat("a", 129), "../x", "dev?x"} {
		if _, err := c.GetEnrollment(t.Context(), id); !errors.Is(err, dps.ErrInvalidID) {
			t.Errorf("GetEnrollment(%q): err = %v, want ErrInvalidID", id, err)
		}
	}
	if n := c.tr.sent.Load(); n != 0 {
		t.Errorf("%d requests with invalid IDs reached the service", n)
	}
}

func TestEmulatorSetEnrollmentStatus(t *testing.T) {
	ctx := t.Context()
	emu := emulatortest.Start(t)
	other := newClient(t, emu, nil)
	c := newClient(t, emu, nil)
	in := tpmEnrollment(t, "dev-1")
	in.InitialTwin = &dpsapi.InitialTwin{Tags: json.RawMessage(`{"line":"3"}`)}
	if _, err := c.CreateOrUpdateEnrollment(ctx, in, ""); err != nil {
		t.Fatal(err)
	}
	// Someone else changes the enrollment between the client's read and its write, once: the
	// service refuses the write (412) and the client reads again and writes again.
	c.tr.beforePut = func() {
		e, err := other.GetEnrollment(ctx, "dev-1")
		if err == nil {
			e.DeviceID = "changed-meanwhile"
			_, err = other.CreateOrUpdateEnrollment(ctx, e, e.ETag)
		}
		if err != nil {
			t.Errorf("concurrent change: %v", err)
		}
	}
	sent := c.tr.sent.Load()
	out, err := c.SetEnrollmentStatus(ctx, "dev-1", false)
	if err != nil {
		t.Fatalf("disable: %v", err)
	}
	if out.ProvisioningStatus != dpsapi.StatusDisabled || out.DeviceID != "changed-meanwhile" || string(out.InitialTwin.Tags) != string(in.InitialTwin.Tags) {
		t.Errorf("disable lost the other change or fields, or did not disable: %+v", out)
	}
	if n := c.tr.sent.Load() - sent; n != 4 { // read, refused write, read, write
		t.Errorf("%d requests, want 4", n)
	}
	// Asking for the status it already has writes nothing.
	sent = c.tr.sent.Load()
	if _, err := c.SetEnrollmentStatus(ctx, "dev-1", false); err != nil {
		t.Fatal(err)
	}
	if n := c.tr.sent.Load() - sent; n != 1 {
		t.Errorf("a no-op status change sent %d requests, want 1 (the read)", n)
	}
	if out, err = c.SetEnrollmentStatus(ctx, "dev-1", true); err != nil || out.ProvisioningStatus != dpsapi.StatusEnabled {
		t.Fatalf("enable: %+v, %v", out, err)
	}
	if got, err := other.GetEnrollment(ctx, "dev-1"); err != nil || got.ProvisioningStatus != dpsapi.StatusEnabled || got.ETag != out.ETag {
		t.Fatalf("after enable, another client reads %+v, %v", got, err)
	}
	if _, err := c.SetEnrollmentStatus(ctx, "absent", true); !dps.IsNotFound(err) {
		t.Errorf("status of an absent enrollment: err = %v", err)
	}
}

func TestEmulatorBulk(t *testing.T) {
	ctx := t.Context()
	_, c := start(t, nil)
	if _, err := c.CreateOrUpdateEnrollment(ctx, tpmEnrollment(t, "dev-21"), ""); err != nil {
		t.Fatal(err)
	}
	items := enrollments(t, 25, "dev")
	for _, i := range []int{5, 12, 19} {
		items[i].Attestation.TPM = &dpsapi.TPMAttestation{EndorsementKey: badEK(t)}
	}
	sent := c.tr.sent.Load()
	res, err := c.Bulk(ctx, dpsapi.BulkCreate, items)
	if err != nil {
		t.Fatal(err)
	}
	if n := c.tr.sent.Load() - sent; n != 3 {
		t.Errorf("%d requests for 25 items, want 3 (chunks of %d)", n, dpsapi.MaxBulkEnrollments)
	}
	var got []string
	for _, e := range res.Errors {
		got = append(got, fmt.Sprintf("%s:%d", e.RegistrationID, e.ErrorCode))
		if e.Err != nil || e.ErrorStatus == "" {
			t.Errorf("item %s: Err %v, status %q; want the service's own refusal of just this item", e.RegistrationID, e.Err, e.ErrorStatus)
		}
	}
	want := []string{"dev-05:400004", "dev-12:400004", "dev-19:400004", "dev-21:409001"}
	if res.IsSuccessful || !slices.Equal(got, want) {
		t.Fatalf("bulk result %v (successful %v), want %v", got, res.IsSuccessful, want)
	}
	for i, e := range items {
		_, err := c.GetEnrollment(ctx, e.RegistrationID)
		if refused := i == 5 || i == 12 || i == 19; refused != dps.IsNotFound(err) {
			t.Errorf("%s: err = %v", e.RegistrationID, err)
		}
	}

	// Delete them all: the refused three were never created, so they fail alone.
	res, err = c.Bulk(ctx, dpsapi.BulkDelete, items)
	if err != nil || res.IsSuccessful || len(res.Errors) != 3 || res.Errors[0].ErrorCode != dpsapi.CodeEnrollmentNotFound {
		t.Fatalf("bulk delete: %+v, %v", res, err)
	}
}

func TestEmulatorBulkChunkFailsWholesale(t *testing.T) {
	emu, c := start(t, func(o *dps.Options) { o.Retry = dps.RetryPolicy{MaxAttempts: 1} })
	// The second request is refused as a whole (503); the first and third go through.
	if err := emu.Faults.Set(emulator.FaultConfig{UnavailableEvery: 2}); err != nil {
		t.Fatal(err)
	}
	res, err := c.Bulk(t.Context(), dpsapi.BulkUpdate, enrollments(t, 25, "dev"))
	if err != nil {
		t.Fatal(err)
	}
	if res.IsSuccessful || len(res.Errors) != 10 {
		t.Fatalf("%d errors, want the 10 of the failed chunk: %+v", len(res.Errors), res)
	}
	for i, e := range res.Errors {
		if want := fmt.Sprintf("dev-%02d", 10+i); e.RegistrationID != want || !errors.Is(e.Err, dps.ErrUnavailable) || e.ErrorCode != httpapi.CodeUnavailable {
			t.Errorf("item %d = %+v, want %s failed with the chunk's error", i, e, want)
		}
	}
	_ = emu.Faults.Set(emulator.FaultConfig{})
	if n := countEnrollments(t, c); n != 15 {
		t.Errorf("%d stored, want 15", n)
	}
}

func TestEmulatorBulkStopsAfterUnauthorized(t *testing.T) {
	emu, c := start(t, nil)
	wrong := wrongKeyClient(t, emu)
	res, err := wrong.Bulk(t.Context(), dpsapi.BulkCreate, enrollments(t, 25, "dev"))
	if err != nil {
		t.Fatal(err)
	}
	if n := wrong.tr.sent.Load(); n != 1 {
		t.Errorf("%d requests after a 401, want 1", n)
	}
	if len(res.Errors) != 25 || !dps.IsUnauthorized(res.Errors[24].Err) || res.Errors[0].ErrorCode != httpapi.CodeUnauthorized {
		t.Errorf("every item should carry the 401: %+v", res.Errors)
	}
	if n := countEnrollments(t, c); n != 0 {
		t.Errorf("%d enrollments created with a wrong key", n)
	}
}

func TestEmulatorBulkRefusesBadInput(t *testing.T) {
	_, c := start(t, nil)
	if _, err := c.Bulk(t.Context(), dpsapi.BulkMode("upsert"), enrollments(t, 1, "d")); err == nil {
		t.Error("unknown mode accepted")
	}
	bad := enrollments(t, 3, "d")
	bad[2].RegistrationID = "no spaces"
	if _, err := c.Bulk(t.Context(), dpsapi.BulkCreate, bad); !errors.Is(err, dps.ErrInvalidID) {
		t.Errorf("err = %v, want ErrInvalidID", err)
	}
	if n := c.tr.sent.Load(); n != 0 {
		t.Errorf("bad input reached the service in %d requests", n)
	}
}

// countEnrollments queries everything the emulator holds.
func countEnrollments(t *testing.T, c client) int {
	t.Helper()
	n := 0
	for _, err := range c.QueryEnrollments(t.Context(), "*", 0) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	return n
}

func TestEmulatorQueryPaging(t *testing.T) {
	ctx := t.Context()
	_, c := start(t, nil)
	if res, err := c.Bulk(ctx, dpsapi.BulkCreate, enrollments(t, 22, "dev")); err != nil || !res.IsSuccessful {
		t.Fatalf("seed: %+v, %v", res, err)
	}

	sent := c.tr.sent.Load()
	var ids []string
	for e, err := range c.QueryEnrollments(ctx, "*", 4) {
		if err != nil {
			t.Fatal(err)
		}
		if e.ETag == "" || e.Attestation == nil || e.Attestation.TPM.EndorsementKey != testEK(t) {
			t.Fatalf("query item incomplete: %+v", e)
		}
		ids = append(ids, e.RegistrationID)
	}
	if want := enrollmentIDs(22, "dev"); !slices.Equal(ids, want) {
		t.Fatalf("query saw %v, want %v", ids, want)
	}
	if n := c.tr.sent.Load() - sent; n != 6 {
		t.Errorf("%d requests, want 6 pages of at most 4", n)
	}

	// Page by page: a continuation on every page but the last, which has the remainder.
	cont, pages := "", 0
	for {
		page, err := c.QueryEnrollmentsPage(ctx, "SELECT * FROM enrollments", 4, cont)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if page.Continuation == "" {
			if len(page.Enrollments) != 2 || pages != 6 {
				t.Fatalf("last page: %d items on page %d", len(page.Enrollments), pages)
			}
			break
		}
		if len(page.Enrollments) != 4 || page.Continuation == cont {
			t.Fatalf("page %d: %d items, continuation %q after %q", pages, len(page.Enrollments), page.Continuation, cont)
		}
		cont = page.Continuation
	}

	// Stopping early fetches no more pages.
	sent = c.tr.sent.Load()
	n := 0
	for range c.QueryEnrollments(ctx, "*", 10) {
		if n++; n == 3 {
			break
		}
	}
	if got := c.tr.sent.Load() - sent; got != 1 {
		t.Errorf("%d pages fetched for 3 items of the first page", got)
	}
}

func enrollmentIDs(n int, prefix string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%02d", prefix, i)
	}
	return out
}

func TestEmulatorRegistrationState(t *testing.T) {
	ctx := t.Context()
	emu, c := start(t, nil)
	if _, err := c.CreateOrUpdateEnrollment(ctx, tpmEnrollment(t, "dev-1"), ""); err != nil {
		t.Fatal(err)
	}
	_, err := c.GetRegistrationState(ctx, "dev-1")
	if !dps.IsNotFound(err) || apiError(t, err).ErrorCode != dpsapi.CodeRegistrationNotFound || !strings.Contains(err.Error(), "has not registered") {
		t.Fatalf("before registering: err = %v, want not found saying the device has not registered", err)
	}
	seeded, err := emu.Store.PutRegistrationState(ctx, dpsapi.DeviceRegistrationState{
		RegistrationID: "dev-1", DeviceID: "dev-1", AssignedHub: "hub.localhost",
		Status: dpsapi.RegistrationAssigned, Substatus: dpsapi.SubstatusInitialAssignment,
	})
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.GetRegistrationState(ctx, "dev-1")
	if err != nil || string(mustJSON(t, st)) != string(mustJSON(t, seeded)) {
		t.Fatalf("get registration: %+v, %v; want %+v", st, err, seeded)
	}
	if e, err := c.GetEnrollment(ctx, "dev-1"); err != nil || e.RegistrationState == nil || e.RegistrationState.ETag != seeded.ETag {
		t.Fatalf("the enrollment does not carry its registration state: %+v, %v", e, err)
	}
	if err := c.DeleteRegistrationState(ctx, "dev-1", `"stale"`); !dps.IsPreconditionFailed(err) {
		t.Errorf("stale delete: err = %v", err)
	}
	if err := c.DeleteRegistrationState(ctx, "dev-1", st.ETag); err != nil {
		t.Fatal(err)
	}
	if _, err = c.GetRegistrationState(ctx, "dev-1"); !dps.IsNotFound(err) {
		t.Fatalf("after delete: err = %v", err)
	}
	if _, err := c.GetEnrollment(ctx, "dev-1"); err != nil {
		t.Errorf("the enrollment went with its registration state: %v", err)
	}
}

// TestEmulatorRestart stops the emulator in the middle of a session and starts it again on the
// same data directory: the client finds every enrollment with its ETag, and ETag conditions still
// hold as before.
func TestEmulatorRestart(t *testing.T) {
	ctx := t.Context()
	emu, c := start(t, nil)
	before := map[string]*dpsapi.IndividualEnrollment{}
	for _, e := range enrollments(t, 3, "keep") {
		e.InitialTwin = &dpsapi.InitialTwin{Properties: &dpsapi.InitialTwinProperties{Desired: json.RawMessage(`{"interval":30}`)}}
		out, err := c.CreateOrUpdateEnrollment(ctx, &e, "")
		if err != nil {
			t.Fatal(err)
		}
		before[e.RegistrationID] = out
	}
	stale := before["keep-01"].ETag
	out, err := c.SetEnrollmentStatus(ctx, "keep-01", false)
	if err != nil {
		t.Fatal(err)
	}
	before["keep-01"] = out
	if _, err := emu.Store.PutRegistrationState(ctx, dpsapi.DeviceRegistrationState{RegistrationID: "keep-02", Status: dpsapi.RegistrationAssigned}); err != nil {
		t.Fatal(err)
	}
	st, err := c.GetRegistrationState(ctx, "keep-02")
	if err != nil {
		t.Fatal(err)
	}

	emu.Stop()
	if _, err := c.GetEnrollment(ctx, "keep-00"); err == nil {
		t.Fatal("the stopped emulator still answers")
	}
	emu = emulatortest.StartIn(t, emu.Dir)
	c = newClient(t, emu, nil)

	for id, want := range before {
		got, err := c.GetEnrollment(ctx, id)
		if err != nil {
			t.Fatalf("%s after restart: %v", id, err)
		}
		got.RegistrationState = nil
		if string(mustJSON(t, got)) != string(mustJSON(t, want)) {
			t.Errorf("%s after restart:\n%s\nbefore:\n%s", id, mustJSON(t, got), mustJSON(t, want))
		}
	}
	if got, err := c.GetRegistrationState(ctx, "keep-02"); err != nil || got.ETag != st.ETag {
		t.Errorf("registration state after restart: %+v, %v", got, err)
	}
	e := before["keep-01"]
	if _, err := c.CreateOrUpdateEnrollment(ctx, e, stale); !dps.IsPreconditionFailed(err) {
		t.Errorf("an ETag from before the last change was accepted after restart: %v", err)
	}
	if _, err := c.CreateOrUpdateEnrollment(ctx, e, e.ETag); err != nil {
		t.Errorf("the current ETag was refused after restart: %v", err)
	}
}

// wrongKeyClient is a client of emu signing with a key that is not the policy's.
func wrongKeyClient(t *testing.T, emu *emulatortest.Emulator) client {
	t.Helper()
	other := *emu
	other.ConnectionString.Key = sas.NewKey([]byte(strings.Repeat("k", 32)))
	return newClient(t, &other, nil)
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
