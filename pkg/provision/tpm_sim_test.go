//go:build cgo

package provision_test

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-tpm-tools/simulator"
	"github.com/google/go-tpm/tpm2/transport"

	"github.com/oobtpm/oob/internal/ektest"
	"github.com/oobtpm/oob/internal/emulatortest"
	"github.com/oobtpm/oob/pkg/dpsapi"
	"github.com/oobtpm/oob/pkg/identity"
	"github.com/oobtpm/oob/pkg/provision"
	"github.com/oobtpm/oob/pkg/tpm"
)

// simTPM is the go-tpm-tools simulator behind pkg/tpm, as provision.TPM: a blank TPM whose EK
// and SRK pkg/tpm creates, and which imports DPS's keys and signs with them inside the TPM.
type simTPM struct {
	*tpm.Attestation
	ek       []byte
	imported int
}

func newSimTPM(t *testing.T) *simTPM {
	t.Helper()
	s, err := simulator.Get()
	if err != nil {
		t.Fatalf("simulator: %v", err)
	}
	dev, err := tpm.Open(t.Context(), tpm.Config{Transport: transport.FromReadWriteCloser(s)})
	if err != nil {
		s.Close()
		t.Fatalf("open the simulator: %v", err)
	}
	t.Cleanup(func() { dev.Close() })
	a, err := dev.Attestation(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return &simTPM{Attestation: a, ek: a.EndorsementKey()}
}

// ImportKey counts the imports: the challenge, then the hub key.
func (s *simTPM) ImportKey(ctx context.Context, blob []byte) error {
	s.imported++
	return s.Attestation.ImportKey(ctx, blob)
}

func TestRegisterTPM(t *testing.T) {
	e := start(t, emulatortest.Options{})
	dev := newSimTPM(t)
	id := identity.DeriveRegistrationID(dev.ek)
	e.enroll(t, ektest.Enrollment(id, dev.ek))

	cfg := e.config()
	cfg.TPM = dev
	res, err := provision.Register(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Assigned() || !res.HubKeyImported || res.RegistrationID != id || res.DeviceID != id || dev.imported != 2 {
		t.Fatalf("result %+v after %d imports", res, dev.imported)
	}
	// The key the TPM now signs with is the one the hub knows the device by.
	hd, err := e.emu.Store.HubDevice(t.Context(), res.AssignedHub, res.DeviceID)
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("localhost/devices/" + id + "\n1893456000")
	got, err := dev.Sign(t.Context(), data)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := hd.PrimaryKey.Sign(t.Context(), data)
	if string(got) != string(want) {
		t.Fatal("the TPM's hub key is not the one the hub holds")
	}
	if st, err := e.svc.GetRegistrationState(t.Context(), id); err != nil || st.Status != dpsapi.RegistrationAssigned {
		t.Fatalf("registration state: %+v %v", st, err)
	}

	// Registering again: a new challenge and a new hub key, on the same hub.
	res, err = provision.Register(t.Context(), cfg)
	if err != nil || !res.Assigned() || res.Substatus != string(dpsapi.SubstatusReprovisionedToInitialAssignment) || dev.imported != 4 {
		t.Fatalf("again: %+v %v after %d imports", res, err, dev.imported)
	}

	// The same registration ID enrolled with another EK: refused without a challenge.
	other := ektest.Enrollment(id, ektest.New(t))
	got2, err := e.svc.GetEnrollment(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreateOrUpdateEnrollment(t.Context(), other, got2.ETag); err != nil {
		t.Fatal(err)
	}
	if res, err := provision.Register(t.Context(), cfg); !errors.Is(err, provision.ErrNotEnrolled) || dev.imported != 4 {
		t.Fatalf("another EK enrolled: %+v, %v", res, err)
	}
}

// A challenge the TPM cannot import — corrupted on the way, or made for another TPM — ends in
// ErrBadChallenge, and the TPM is left as it was: no DPS key, so nothing signs. A fake DPS
// stands in here because the emulator only ever sends well-made blobs.
func TestRegisterTPMCorruptedChallenge(t *testing.T) {
	dev := newSimTPM(t)
	id := identity.DeriveRegistrationID(dev.ek)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		blob := make([]byte, 600)
		rand.Read(blob)
		blob[0], blob[1] = 0x00, 0x40 // a plausible first size prefix
		fmt.Fprintf(w, `{"authenticationKey":%q,"keyName":"registration"}`, base64.StdEncoding.EncodeToString(blob))
	}))
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	_, err := provision.Register(t.Context(), provision.Config{
		IDScope: "0ne00000001", RegistrationID: id, Endpoint: srv.URL, RootCAs: pool, TPM: dev,
	})
	if !errors.Is(err, provision.ErrBadChallenge) {
		t.Fatalf("a corrupted challenge: %v, want ErrBadChallenge", err)
	}
	if _, err := dev.Sign(t.Context(), []byte("x")); !errors.Is(err, tpm.ErrNoDPSKey) {
		t.Fatalf("after the refused challenge the TPM signs (%v): it was changed", err)
	}
}
