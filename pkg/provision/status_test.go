package provision_test

import (
	"errors"
	"testing"

	"github.com/oobtpm/oob/internal/emulator/tlsca"
	"github.com/oobtpm/oob/internal/emulatortest"
	"github.com/oobtpm/oob/pkg/dpsapi"
	"github.com/oobtpm/oob/pkg/provision"
)

func TestLookupStatusX509(t *testing.T) {
	e := start(t, emulatortest.Options{})
	cert := e.emu.DeviceCertificate(t, "look-dev")
	cfg := e.config()
	cfg.Certificate = cert
	// Not enrolled: DPS does not accept the device.
	if res, err := provision.LookupStatus(t.Context(), cfg); !errors.Is(err, provision.ErrNotEnrolled) {
		t.Fatalf("not enrolled: %+v, %v", res, err)
	}
	e.enroll(t, &dpsapi.IndividualEnrollment{
		RegistrationID: "look-dev",
		Attestation: &dpsapi.Attestation{Type: dpsapi.AttestationX509, X509: &dpsapi.X509Attestation{
			ClientCertificates: &dpsapi.X509Certificates{Primary: &dpsapi.X509CertificateWithInfo{Certificate: tlsca.CertificatePEM(*cert)}},
		}},
	})
	// Enrolled, not registered: no registration state yet.
	if res, err := provision.LookupStatus(t.Context(), cfg); !errors.Is(err, provision.ErrNoRegistration) {
		t.Fatalf("not registered: %+v, %v", res, err)
	}
	reg, err := provision.Register(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := provision.LookupStatus(t.Context(), cfg)
	if err != nil || !res.Assigned() || res.AssignedHub != reg.AssignedHub || res.DeviceID != reg.DeviceID || res.RegistrationID != "look-dev" {
		t.Fatalf("registered: %+v, %v", res, err)
	}
}

func TestLookupStatusDisabled(t *testing.T) {
	e := start(t, emulatortest.Options{})
	key := e.enrollSymmetric(t, &dpsapi.IndividualEnrollment{RegistrationID: "look-off", ProvisioningStatus: dpsapi.StatusDisabled})
	cfg := e.config()
	cfg.RegistrationID, cfg.SymmetricKey = "look-off", &key
	if _, err := provision.Register(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	res, err := provision.LookupStatus(t.Context(), cfg)
	if err != nil || res.Status != dpsapi.RegistrationDisabled {
		t.Fatalf("disabled: %+v, %v", res, err)
	}
}
