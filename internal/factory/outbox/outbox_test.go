package outbox

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/emulator"
	"github.com/oobtpm/oob/internal/emulatortest"
	"github.com/oobtpm/oob/internal/factory/boardca"
	"github.com/oobtpm/oob/internal/factory/certify"
	"github.com/oobtpm/oob/internal/factory/records"
	"github.com/oobtpm/oob/pkg/dps"
	"github.com/oobtpm/oob/pkg/dpsapi"
)

type fixture struct {
	store *records.Store
	cert  *certify.Certifier
	emu   *emulatortest.Emulator
	dps   *dps.Client
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	ca, err := boardca.Init(dir, "Test", boardca.ECDSAP256, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	st, err := records.OpenSQLite(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	emu := emulatortest.Start(t)
	// One attempt per call: the worker's own rounds are the retries under test.
	c := emu.Client(t, dps.Options{Retry: dps.RetryPolicy{MaxAttempts: 1}})
	return &fixture{store: st, cert: &certify.Certifier{CA: ca, Store: st, Line: "L4", Batch: "B9"}, emu: emu, dps: c}
}

func (f *fixture) board(t *testing.T, i int) string {
	t.Helper()
	guid := fmt.Sprintf("%08x-3f4d-4e5f-8a9b-0c1d2e3f4a5b", i)
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if _, err := f.cert.Certify(context.Background(), "st1", guid, k.Public()); err != nil {
		t.Fatal(err)
	}
	return guid
}

func (f *fixture) worker(st Store) *Worker {
	if st == nil {
		st = f.store
	}
	return &Worker{DPS: f.dps, Store: st, Factory: "plant-1"}
}

func (f *fixture) enrollments(t *testing.T) []dpsapi.IndividualEnrollment {
	t.Helper()
	var out []dpsapi.IndividualEnrollment
	for e, err := range f.dps.QueryEnrollments(context.Background(), "SELECT * FROM enrollments", 100) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

func TestDisabledEnrollmentOncePerBoardThroughAnOutage(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	guids := []string{f.board(t, 1), f.board(t, 2), f.board(t, 3)}
	w := f.worker(nil)

	if err := f.emu.Faults.Set(emulator.FaultConfig{UnavailableProbability: 1}); err != nil {
		t.Fatal(err)
	}
	r, err := w.RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r.Pending != 3 || r.Enrolled != 0 || !errors.Is(r.LastError, dps.ErrUnavailable) {
		t.Fatalf("with DPS away: %+v", r)
	}
	pending, _ := f.store.Enrollments(ctx, records.OutboxPending)
	if len(pending) != 3 || pending[0].Attempts != 1 || pending[0].LastError == "" {
		t.Fatalf("outbox after an outage: %+v", pending)
	}

	if err := f.emu.Faults.Set(emulator.FaultConfig{}); err != nil {
		t.Fatal(err)
	}
	if r, err = w.RunOnce(ctx); err != nil || r.Enrolled != 3 || r.Pending != 0 {
		t.Fatalf("with DPS back: %+v %v", r, err)
	}
	if r, err = w.RunOnce(ctx); err != nil || r != (Round{}) {
		t.Fatalf("a second round did something: %+v %v", r, err)
	}
	got := f.enrollments(t)
	if len(got) != 3 {
		t.Fatalf("%d enrollments in DPS, want 3", len(got))
	}
	for _, g := range guids {
		e, err := f.dps.GetEnrollment(ctx, g)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := f.store.Board(ctx, g)
		leaf, _ := boardca.ParseCertificate([]byte(b.Certificate))
		if e.ProvisioningStatus != dpsapi.StatusDisabled || e.DeviceID != g || primaryThumbprint(e) != thumbprint(leaf.Raw) {
			t.Errorf("%s: status %q, device %q, thumbprint %q", g, e.ProvisioningStatus, e.DeviceID, primaryThumbprint(e))
		}
		var tags map[string]string
		if err := json.Unmarshal(e.InitialTwin.Tags, &tags); err != nil || tags["factory"] != "plant-1" || tags["line"] != "L4" || tags["batch"] != "B9" || tags["manufactured"] == "" {
			t.Errorf("%s: tags %s", g, e.InitialTwin.Tags)
		}
		if b.State != records.StatePreEnrolled {
			t.Errorf("%s: board state %s", g, b.State)
		}
	}
}

// crashing fails Finish once, as a process killed after DPS answered but before the commit.
type crashing struct {
	*records.Store
	crashed bool
}

func (c *crashing) Finish(ctx context.Context, guid, cert string, cause error) error {
	if !c.crashed {
		c.crashed = true
		return errors.New("killed")
	}
	return c.Store.Finish(ctx, guid, cert, cause)
}

func TestCrashAfterSendDoublesNothing(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	g := f.board(t, 1)
	if _, err := f.worker(&crashing{Store: f.store}).RunOnce(ctx); err == nil {
		t.Fatal("the simulated crash did not happen")
	}
	if b, _ := f.store.Board(ctx, g); b.State != records.StateCertified {
		t.Fatalf("board marked %s before the commit", b.State)
	}
	r, err := f.worker(nil).RunOnce(ctx)
	if err != nil || r.Enrolled != 1 {
		t.Fatalf("after restart: %+v %v", r, err)
	}
	if n := len(f.enrollments(t)); n != 1 {
		t.Errorf("%d enrollments after a crash and restart, want 1", n)
	}
}

func TestOtherCertificateInDPSIsAFailureNotOverwritten(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	g := f.board(t, 1)
	theirs := f.emu.DeviceCertificate(t, g)
	_, err := f.dps.CreateOrUpdateEnrollment(ctx, &dpsapi.IndividualEnrollment{RegistrationID: g,
		Attestation: &dpsapi.Attestation{Type: dpsapi.AttestationX509, X509: &dpsapi.X509Attestation{
			ClientCertificates: &dpsapi.X509Certificates{Primary: &dpsapi.X509CertificateWithInfo{Certificate: string(boardca.PEM(theirs.Leaf))}}}}}, "")
	if err != nil {
		t.Fatal(err)
	}
	r, err := f.worker(nil).RunOnce(ctx)
	if err != nil || r.Failed != 1 {
		t.Fatalf("round: %+v %v", r, err)
	}
	failed, _ := f.store.Enrollments(ctx, records.OutboxFailed)
	if len(failed) != 1 || failed[0].LastError == "" {
		t.Errorf("failure not recorded: %+v", failed)
	}
	e, _ := f.dps.GetEnrollment(ctx, g)
	if primaryThumbprint(e) != thumbprint(theirs.Leaf.Raw) {
		t.Error("the existing enrollment was overwritten")
	}
}

func TestReissueReplacesTheEnrollment(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	g := f.board(t, 1)
	w := f.worker(nil)
	if _, err := w.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if err := f.store.AllowReissue(ctx, g, "op", "replaced"); err != nil {
		t.Fatal(err)
	}
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	res, err := f.cert.Certify(ctx, "st1", g, k.Public())
	if err != nil {
		t.Fatal(err)
	}
	if r, err := w.RunOnce(ctx); err != nil || r.Enrolled != 1 {
		t.Fatalf("round: %+v %v", r, err)
	}
	e, _ := f.dps.GetEnrollment(ctx, g)
	if primaryThumbprint(e) != thumbprint(res.Leaf.Raw) || e.ProvisioningStatus != dpsapi.StatusDisabled {
		t.Errorf("DPS holds %s (%s), want the re-issued certificate, disabled", primaryThumbprint(e), e.ProvisioningStatus)
	}
}

// TestRunRetriesUntilDPSIsBack runs the worker's loop through an outage of DPS's own timing.
func TestRunRetriesUntilDPSIsBack(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g := f.board(t, 1)
	if err := f.emu.Faults.Set(emulator.FaultConfig{UnavailableFor: emulator.Duration(300 * time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	w := f.worker(nil)
	w.MinBackoff, w.MaxBackoff = 10*time.Millisecond, 50*time.Millisecond
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, nil) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, err := f.store.Board(context.Background(), g)
		if err != nil {
			t.Fatal(err)
		}
		if b.State == records.StatePreEnrolled {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("board still %s 20 s after DPS came back", b.State)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run ended with %v", err)
	}
	done2, _ := f.store.Enrollments(context.Background(), records.OutboxDone)
	if len(done2) != 1 || done2[0].Attempts < 2 {
		t.Errorf("outbox: %+v, want one entry done after retries", done2)
	}
	if n := len(f.enrollments(t)); n != 1 {
		t.Errorf("%d enrollments in DPS, want 1", n)
	}
}

// TestOneForeignEnrollmentDoesNotHoldUpItsBatch sends more boards than one bulk request takes,
// one of them already enrolled by someone else: the others are pre-enrolled in the same round.
func TestOneForeignEnrollmentDoesNotHoldUpItsBatch(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const n = 2*dpsapi.MaxBulkEnrollments + 3
	var guids []string
	for i := range n {
		guids = append(guids, f.board(t, i))
	}
	foreign := guids[dpsapi.MaxBulkEnrollments+1]
	theirs := f.emu.DeviceCertificate(t, foreign)
	if _, err := f.dps.CreateOrUpdateEnrollment(ctx, &dpsapi.IndividualEnrollment{RegistrationID: foreign,
		Attestation: &dpsapi.Attestation{Type: dpsapi.AttestationX509, X509: &dpsapi.X509Attestation{
			ClientCertificates: &dpsapi.X509Certificates{Primary: &dpsapi.X509CertificateWithInfo{Certificate: string(boardca.PEM(theirs.Leaf))}}}}}, ""); err != nil {
		t.Fatal(err)
	}
	r, err := f.worker(nil).RunOnce(ctx)
	if err != nil || r.Enrolled != n-1 || r.Failed != 1 || r.Pending != 0 {
		t.Fatalf("round: %+v %v, want %d enrolled and 1 failed", r, err, n-1)
	}
	for _, g := range guids {
		b, _ := f.store.Board(ctx, g)
		want := records.StatePreEnrolled
		if g == foreign {
			want = records.StateFailed
		}
		if b.State != want {
			t.Errorf("%s: %s, want %s", g, b.State, want)
		}
	}
	if got := len(f.enrollments(t)); got != n {
		t.Errorf("%d enrollments in DPS, want %d", got, n)
	}
}
