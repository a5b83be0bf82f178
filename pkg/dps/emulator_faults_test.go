package dps_test

// Refusals against the emulator: wrong credentials, throttling and unavailability (its Faults),
// a server that does not answer in time, dropped connections and TLS trust.

import (
	"context"
	"crypto/x509"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/emulator"
	"github.com/oobtpm/oob/internal/emulator/httpapi"
	"github.com/oobtpm/oob/internal/emulator/tlsca"
	"github.com/oobtpm/oob/internal/emulatortest"
	"github.com/oobtpm/oob/pkg/cafile"
	"github.com/oobtpm/oob/pkg/dps"
	"github.com/oobtpm/oob/pkg/dpsapi"
)

func TestEmulatorUnauthorized(t *testing.T) {
	emu := emulatortest.Start(t)
	expired := newClient(t, emu, func(o *dps.Options) {
		// Tokens are signed an hour long, two hours ago.
		o.Now = func() time.Time { return time.Now().Add(-2 * time.Hour) }
	})
	for _, tc := range []struct {
		name, why string
		c         client
	}{
		{"wrong key", "signature does not match", wrongKeyClient(t, emu)},
		{"expired token", "expired", expired},
	} {
		c := tc.c
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.GetEnrollment(t.Context(), "dev-1")
			if !dps.IsUnauthorized(err) || apiError(t, err).ErrorCode != httpapi.CodeUnauthorized || !strings.Contains(err.Error(), tc.why) {
				t.Fatalf("err = %v, want 401002 saying %q", err, tc.why)
			}
			for _, want := range []string{"connection string was refused", "copy it again from the portal", "Shared access policies"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("message %q lacks %q", err, want)
				}
			}
			if n := c.tr.sent.Load(); n != 1 || len(c.waits.All()) != 0 {
				t.Errorf("a 401 was retried: %d requests, waits %v", n, c.waits.All())
			}
			var errs []error
			for _, err := range c.QueryEnrollments(t.Context(), "*", 10) {
				errs = append(errs, err)
			}
			if len(errs) != 1 || !dps.IsUnauthorized(errs[0]) {
				t.Errorf("query: errs = %v, want one unauthorized", errs)
			}
		})
	}
}

// setFaults puts cfg in force for the rest of the test.
func setFaults(t *testing.T, emu *emulatortest.Emulator, cfg emulator.FaultConfig) {
	t.Helper()
	if err := emu.Faults.Set(cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.Faults.Set(emulator.FaultConfig{}) })
}

func TestEmulatorRetriesHonourRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  emulator.FaultConfig
	}{
		{"429", emulator.FaultConfig{ThrottleEvery: 2, RetryAfter: emulator.Duration(3 * time.Second)}},
		{"503", emulator.FaultConfig{UnavailableEvery: 2, RetryAfter: emulator.Duration(2 * time.Second)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			emu := emulatortest.Start(t)
			c := newClient(t, emu, nil)
			// Every second request is refused: the read goes through, the create is refused once
			// and its retry, the whole body sent again, is stored.
			setFaults(t, emu, tc.cfg)
			if _, err := c.GetEnrollment(t.Context(), "dev-1"); !dps.IsNotFound(err) {
				t.Fatalf("first request: %v", err)
			}
			out, err := c.CreateOrUpdateEnrollment(t.Context(), tpmEnrollment(t, "dev-1"), "")
			if err != nil || out.Attestation.TPM.EndorsementKey != testEK(t) {
				t.Fatalf("create after a %s: %+v, %v", tc.name, out, err)
			}
			if want := []time.Duration{time.Duration(tc.cfg.RetryAfter)}; !slices.Equal(c.waits.All(), want) {
				t.Errorf("waits = %v, want %v (the emulator's Retry-After)", c.waits.All(), want)
			}
			if n := emu.Faults.Status().Requests; n != 3 {
				t.Errorf("the emulator saw %d requests, want 3", n)
			}
		})
	}
}

func TestEmulatorThrottledGivesUp(t *testing.T) {
	emu, c := start(t, func(o *dps.Options) { o.Retry = dps.RetryPolicy{MaxAttempts: 3, MaxRetryAfter: 10 * time.Second} })
	setFaults(t, emu, emulator.FaultConfig{ThrottleFor: emulator.Duration(time.Hour), RetryAfter: emulator.Duration(2 * time.Minute)})
	_, err := c.GetEnrollment(t.Context(), "dev-1")
	if !dps.IsThrottled(err) || apiError(t, err).ErrorCode != httpapi.CodeThrottled {
		t.Fatalf("err = %v, want throttled", err)
	}
	if n := emu.Faults.Status().Requests; n != 3 {
		t.Errorf("%d attempts, want 3", n)
	}
	if want := []time.Duration{10 * time.Second, 10 * time.Second}; !slices.Equal(c.waits.All(), want) {
		t.Errorf("waits = %v, want Retry-After clamped to MaxRetryAfter: %v", c.waits.All(), want)
	}
}

func TestEmulatorRetryAfterPastDeadline(t *testing.T) {
	emu, c := start(t, nil)
	setFaults(t, emu, emulator.FaultConfig{ThrottleFor: emulator.Duration(time.Hour), RetryAfter: emulator.Duration(time.Minute)})
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	_, err := c.GetEnrollment(ctx, "dev-1")
	if !dps.IsThrottled(err) || !strings.Contains(err.Error(), "deadline") {
		t.Fatalf("err = %v, want throttled, not retried past the deadline", err)
	}
	if len(c.waits.All()) != 0 || emu.Faults.Status().Requests != 1 {
		t.Errorf("waited for a retry that would outlive the context: waits %v", c.waits.All())
	}
}

func TestEmulatorDeadlineWhileWaitingForServer(t *testing.T) {
	emu, c := start(t, nil)
	setFaults(t, emu, emulator.FaultConfig{Latency: emulator.Duration(time.Minute)})
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.GetEnrollment(ctx, "dev-1")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the context's deadline", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("returned after %v, long after the deadline", d)
	}
	if n := c.tr.sent.Load(); n != 1 {
		t.Errorf("%d attempts after the deadline passed, want 1", n)
	}
}

func TestEmulatorNetworkErrorsRetriedOnlyWhenSafe(t *testing.T) {
	ctx := t.Context()
	_, c := start(t, nil)
	c.tr.drop.Store(2)
	if _, err := c.CreateOrUpdateEnrollment(ctx, tpmEnrollment(t, "dev-1"), ""); err != nil {
		t.Fatalf("PUT after two dropped connections: %v", err)
	}
	if len(c.waits.All()) != 2 {
		t.Errorf("waits = %v, want 2", c.waits.All())
	}
	// A bulk create is not repeated blindly: it may have been applied.
	c.tr.drop.Store(1)
	res, err := c.Bulk(ctx, dpsapi.BulkCreate, []dpsapi.IndividualEnrollment{*tpmEnrollment(t, "dev-2")})
	if err != nil {
		t.Fatal(err)
	}
	if res.IsSuccessful || len(res.Errors) != 1 || res.Errors[0].Err == nil || !strings.Contains(res.Errors[0].ErrorStatus, "connection reset") {
		t.Errorf("bulk after a dropped connection: %+v", res)
	}
	if _, err := c.GetEnrollment(ctx, "dev-2"); !dps.IsNotFound(err) {
		t.Errorf("the bulk request was resent: %v", err)
	}
}

func TestEmulatorTLSPrivateCAFromFile(t *testing.T) {
	emu := emulatortest.Start(t)
	pool, err := cafile.Load(filepath.Join(emu.Dir, tlsca.CertFile))
	if err != nil {
		t.Fatal(err)
	}
	c, err := dps.New(emu.ConnectionString, dps.Options{RootCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	if _, err = c.GetEnrollment(t.Context(), "absent"); !dps.IsNotFound(err) {
		t.Fatalf("over the emulator's CA from its file: err = %v, want not found", err)
	}
}

func TestEmulatorTLSWrongCARefused(t *testing.T) {
	emu := emulatortest.Start(t)
	// Another emulator's CA stands in for someone else's.
	other, err := tlsca.LoadOrCreate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for name, roots := range map[string]*x509.CertPool{"other CA": other.CertPool(), "system roots": nil} {
		t.Run(name, func(t *testing.T) {
			c := newClient(t, &emulatortest.Emulator{ConnectionString: emu.ConnectionString, RootCAs: roots}, nil)
			_, err := c.GetEnrollment(t.Context(), "dev-1")
			if err == nil || !strings.Contains(err.Error(), "does not trust") {
				t.Fatalf("err = %v, want a certificate error that says so", err)
			}
			if n := len(c.waits.All()); n != 0 {
				t.Errorf("a certificate error was retried %d times", n)
			}
			if n := emu.Faults.Status().Requests; n != 0 {
				t.Errorf("the emulator handled %d requests over an untrusted connection", n)
			}
		})
	}
}
