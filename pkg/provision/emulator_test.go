package provision_test

// The device's registration against the DPS emulator (internal/emulator, in process) over TLS with the
// emulator's own CA: what DPS answers is what the emulator answers.

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/emulator"
	"github.com/oobtpm/oob/internal/emulator/deviceapi"
	"github.com/oobtpm/oob/internal/emulator/httpapi"
	"github.com/oobtpm/oob/internal/emulator/tlsca"
	"github.com/oobtpm/oob/internal/emulatortest"
	"github.com/oobtpm/oob/pkg/dps"
	"github.com/oobtpm/oob/pkg/dpsapi"
	"github.com/oobtpm/oob/pkg/provision"
	"github.com/oobtpm/oob/pkg/sas"
)

// clock is a fake clock shared by the device and the emulator: the device's waits advance it
// instead of passing, and are recorded.
type clock struct {
	mu    sync.Mutex
	now   time.Time
	waits []time.Duration
	// onSleep, when set, runs after each wait with the number of waits so far.
	onSleep func(n int)
}

func newClock() *clock { return &clock{now: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.waits = append(c.waits, d)
	n, hook := len(c.waits), c.onSleep
	c.mu.Unlock()
	if hook != nil {
		hook(n)
	}
	return ctx.Err()
}

func (c *clock) Waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.waits...)
}

// env is an emulator on a fake clock, the service client that enrolls devices, and the clock.
type env struct {
	emu   *emulatortest.Emulator
	svc   *dps.Client
	clock *clock
}

func start(t testing.TB, opts emulatortest.Options) *env {
	t.Helper()
	c := newClock()
	opts.Now = c.Now
	emu := emulatortest.StartWith(t, t.TempDir(), opts)
	return &env{emu: emu, svc: emu.Client(t, dps.Options{}), clock: c}
}

// config is a device's configuration for this emulator, waiting on the fake clock.
func (e *env) config() provision.Config {
	return provision.Config{
		IDScope:  e.emu.IDScope,
		Endpoint: e.emu.Endpoint,
		RootCAs:  e.emu.RootCAs,
		Now:      e.clock.Now,
		Sleep:    e.clock.Sleep,
	}
}

// enroll creates e and returns it as stored (with generated symmetric keys, if any).
func (e *env) enroll(t testing.TB, en *dpsapi.IndividualEnrollment) *dpsapi.IndividualEnrollment {
	t.Helper()
	got, err := e.svc.CreateOrUpdateEnrollment(t.Context(), en, "")
	if err != nil {
		t.Fatalf("enroll %s: %v", en.RegistrationID, err)
	}
	return got
}

// enrollSymmetric enrolls id with generated keys and returns the primary one.
func (e *env) enrollSymmetric(t *testing.T, en *dpsapi.IndividualEnrollment) sas.Key {
	t.Helper()
	en.Attestation = &dpsapi.Attestation{Type: dpsapi.AttestationSymmetricKey}
	got := e.enroll(t, en)
	key, err := sas.ParseKey(got.Attestation.SymmetricKey.PrimaryKey)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func TestRegisterSymmetricKey(t *testing.T) {
	e := start(t, emulatortest.Options{})
	key := e.enrollSymmetric(t, &dpsapi.IndividualEnrollment{RegistrationID: "sym-dev", DeviceID: "sym-device", IoTHubHostName: "hub-1.localhost"})

	cfg := e.config()
	cfg.RegistrationID, cfg.SymmetricKey = "sym-dev", &key
	res, err := provision.Register(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Assigned() || res.AssignedHub != "hub-1.localhost" || res.DeviceID != "sym-device" || res.Substatus != "initialAssignment" || res.OperationID == "" || res.HubKeyImported {
		t.Fatalf("result: %+v", res)
	}
	// The operator sees the registration through the service API, and the hub knows the device.
	st, err := e.svc.GetRegistrationState(t.Context(), "sym-dev")
	if err != nil || st.Status != dpsapi.RegistrationAssigned || st.AssignedHub != res.AssignedHub || st.DeviceID != res.DeviceID || st.Substatus != dpsapi.SubstatusInitialAssignment {
		t.Fatalf("registration state: %+v %v", st, err)
	}
	hd, err := e.emu.Store.HubDevice(t.Context(), "hub-1.localhost", "sym-device")
	if err != nil || !hd.PrimaryKey.Equal(key) {
		t.Fatalf("hub device: %+v %v", hd, err)
	}

	wrong, _ := sas.ParseKey("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
	for name, change := range map[string]func(*provision.Config){
		"wrong key":          func(c *provision.Config) { c.SymmetricKey = &wrong },
		"unknown ID":         func(c *provision.Config) { c.RegistrationID = "nobody" },
		"another ID scope":   func(c *provision.Config) { c.IDScope = "0ne00000000" },
		"key of another one": func(c *provision.Config) { c.RegistrationID = "sym-dev-2" },
	} {
		t.Run(name, func(t *testing.T) {
			if name == "key of another one" {
				e.enrollSymmetric(t, &dpsapi.IndividualEnrollment{RegistrationID: "sym-dev-2"})
			}
			cfg := e.config()
			cfg.RegistrationID, cfg.SymmetricKey = "sym-dev", &key
			change(&cfg)
			res, err := provision.Register(t.Context(), cfg)
			if !errors.Is(err, provision.ErrNotEnrolled) {
				t.Fatalf("got %+v, %v; want ErrNotEnrolled", res, err)
			}
			var dpsErr *provision.Error
			if !errors.As(err, &dpsErr) || dpsErr.StatusCode != 401 || dpsErr.ErrorCode != httpapi.CodeUnauthorized {
				t.Fatalf("DPS's answer is not in the error: %v", err)
			}
		})
	}
}

func TestRegisterX509(t *testing.T) {
	e := start(t, emulatortest.Options{})
	cert := e.emu.DeviceCertificate(t, "x509-dev")
	e.enroll(t, &dpsapi.IndividualEnrollment{
		RegistrationID: "x509-dev",
		Attestation: &dpsapi.Attestation{Type: dpsapi.AttestationX509, X509: &dpsapi.X509Attestation{
			ClientCertificates: &dpsapi.X509Certificates{Primary: &dpsapi.X509CertificateWithInfo{Certificate: tlsca.CertificatePEM(*cert)}},
		}},
	})
	cfg := e.config()
	cfg.Certificate = cert
	res, err := provision.Register(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Assigned() || res.RegistrationID != "x509-dev" || res.DeviceID != "x509-dev" || res.AssignedHub != deviceapi.DefaultHubHostName {
		t.Fatalf("result: %+v", res)
	}
	if hd, err := e.emu.Store.HubDevice(t.Context(), res.AssignedHub, res.DeviceID); err != nil || hd.PrimaryThumbprint == "" {
		t.Fatalf("hub device: %+v %v", hd, err)
	}

	// Another certificate with the same common name is not the enrolled one.
	impostor := e.emu.DeviceCertificate(t, "x509-dev")
	cfg = e.config()
	cfg.Certificate = impostor
	if res, err := provision.Register(t.Context(), cfg); !errors.Is(err, provision.ErrNotEnrolled) {
		t.Fatalf("another certificate: %+v, %v", res, err)
	}
}

func TestRegisterDisabled(t *testing.T) {
	e := start(t, emulatortest.Options{})
	key := e.enrollSymmetric(t, &dpsapi.IndividualEnrollment{RegistrationID: "off-dev", ProvisioningStatus: dpsapi.StatusDisabled})
	cfg := e.config()
	cfg.RegistrationID, cfg.SymmetricKey = "off-dev", &key
	res, err := provision.Register(t.Context(), cfg)
	if err != nil || res.Status != dpsapi.RegistrationDisabled || res.Assigned() {
		t.Fatalf("disabled enrollment: %+v, %v", res, err)
	}
	if st, err := e.svc.GetRegistrationState(t.Context(), "off-dev"); err != nil || st.Status != dpsapi.RegistrationDisabled {
		t.Fatalf("registration state: %+v %v", st, err)
	}
}

func TestRegisterRetriesThrottlingAndOutages(t *testing.T) {
	cases := []struct {
		name   string
		faults emulator.FaultConfig
	}{
		{"429", emulator.FaultConfig{ThrottleEvery: 2, RetryAfter: emulator.Duration(3 * time.Second)}},
		{"503", emulator.FaultConfig{UnavailableEvery: 2, RetryAfter: emulator.Duration(3 * time.Second)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := start(t, emulatortest.Options{})
			key := e.enrollSymmetric(t, &dpsapi.IndividualEnrollment{RegistrationID: "busy-dev"})
			if err := e.emu.Faults.Set(c.faults); err != nil {
				t.Fatal(err)
			}
			cfg := e.config()
			cfg.RegistrationID, cfg.SymmetricKey = "busy-dev", &key
			res, err := provision.Register(t.Context(), cfg)
			if err != nil || !res.Assigned() {
				t.Fatalf("%+v, %v", res, err)
			}
			// The register request passes, the first poll is refused and retried after the
			// Retry-After the refusal asked for, then the second gets the decision.
			if got, want := e.clock.Waits(), []time.Duration{time.Second, 3 * time.Second}; !equal(got, want) {
				t.Fatalf("waits %v, want %v", got, want)
			}
		})
	}
	t.Run("throttled throughout", func(t *testing.T) {
		e := start(t, emulatortest.Options{})
		key := e.enrollSymmetric(t, &dpsapi.IndividualEnrollment{RegistrationID: "busy-dev"})
		if err := e.emu.Faults.Set(emulator.FaultConfig{ThrottleEvery: 1}); err != nil {
			t.Fatal(err)
		}
		cfg := e.config()
		cfg.RegistrationID, cfg.SymmetricKey = "busy-dev", &key
		cfg.Retry.MaxAttempts = 3
		if res, err := provision.Register(t.Context(), cfg); !errors.Is(err, provision.ErrUnavailable) {
			t.Fatalf("%+v, %v; want ErrUnavailable", res, err)
		}
		if n := len(e.clock.Waits()); n != 2 {
			t.Fatalf("%d waits for 3 attempts", n)
		}
	})
}

func equal(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRegisterPollsAsDPSAllows(t *testing.T) {
	for _, c := range []struct {
		name              string
		retryAfter, delay time.Duration
	}{
		{"Retry-After 1s, limited to 5 polls in 10s", time.Second, 20 * time.Second},
		{"Retry-After 3s", 3 * time.Second, 20 * time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := start(t, emulatortest.Options{RetryAfter: c.retryAfter, AssignDelay: c.delay})
			key := e.enrollSymmetric(t, &dpsapi.IndividualEnrollment{RegistrationID: "poll-dev"})
			cfg := e.config()
			cfg.RegistrationID, cfg.SymmetricKey = "poll-dev", &key
			begin := e.clock.Now()
			res, err := provision.Register(t.Context(), cfg)
			if err != nil || !res.Assigned() {
				t.Fatalf("%+v, %v", res, err)
			}
			// Without faults every wait precedes one poll.
			var polls []time.Duration
			at := time.Duration(0)
			for _, w := range e.clock.Waits() {
				if w < c.retryAfter {
					t.Fatalf("waited %v, less than the Retry-After of %v", w, c.retryAfter)
				}
				at += w
				polls = append(polls, at)
			}
			for i := 0; i+5 < len(polls); i++ {
				if polls[i+5]-polls[i] < 10*time.Second {
					t.Fatalf("6 polls within %v: %v", polls[i+5]-polls[i], polls)
				}
			}
			// The decision came with the first poll after the delay, not later.
			last := polls[len(polls)-1]
			if last < c.delay || last-c.delay > 10*time.Second {
				t.Fatalf("assigned at %v after a delay of %v: polls %v", last, c.delay, polls)
			}
			if e.clock.Now().Sub(begin) != last {
				t.Fatal("the clock moved other than by the waits")
			}
		})
	}
}

func TestRegisterEnrollmentDeletedWhileAssigning(t *testing.T) {
	e := start(t, emulatortest.Options{AssignDelay: 5 * time.Second})
	key := e.enrollSymmetric(t, &dpsapi.IndividualEnrollment{RegistrationID: "gone-dev"})
	e.clock.onSleep = func(n int) {
		if n == 1 {
			if err := e.svc.DeleteEnrollment(context.Background(), "gone-dev", ""); err != nil {
				t.Error(err)
			}
		}
	}
	cfg := e.config()
	cfg.RegistrationID, cfg.SymmetricKey = "gone-dev", &key
	res, err := provision.Register(t.Context(), cfg)
	if err != nil || res.Status != dpsapi.RegistrationFailed || res.ErrorCode != dpsapi.CodeEnrollmentNotFound || res.ErrorMessage == "" {
		t.Fatalf("%+v, %v", res, err)
	}
	if _, err := e.svc.GetRegistrationState(t.Context(), "gone-dev"); !errors.Is(err, dps.ErrNotFound) {
		t.Fatalf("registration state of a deleted enrollment: %v", err)
	}
}
