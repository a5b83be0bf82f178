package agent

import (
	"crypto"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/emulator/tlsca"
	"github.com/oobtpm/oob/internal/emulatortest"
	"github.com/oobtpm/oob/internal/factory/esttest"
	"github.com/oobtpm/oob/internal/swtpmtest"
	"github.com/oobtpm/oob/pkg/devicecert"
	"github.com/oobtpm/oob/pkg/doctor"
	"github.com/oobtpm/oob/pkg/dpsapi"
	"github.com/oobtpm/oob/pkg/est"
	"github.com/oobtpm/oob/pkg/keyfile"
)

// These tests ask the DPS emulator, over TLS with its own CA, what it decided about the device,
// as the doctor asks DPS.

func TestDoctorDPSStatusTPMDisabled(t *testing.T) {
	d := newDevice(t)
	// The device registers, answering DPS's challenge: its enrollment is disabled.
	code, stderr, id := d.enrollAndRegister(t, dpsapi.StatusDisabled)
	if code != 5 {
		t.Fatalf("register: exit %d, want 5 (disabled): %s", code, stderr)
	}
	code, text, rep := runDoctor(t, "--config", d.config)
	if code != 1 {
		t.Fatalf("exit %d:\n%s", code, text)
	}
	wantStatus(t, rep, "tpm.dpskey", doctor.OK, "registered before")
	wantStatus(t, rep, "dps.status", doctor.Fail, id, "disabled", "enable the device's enrollment", "companion")
}

func TestDoctorDPSStatusX509(t *testing.T) {
	d := newDevice(t)
	cert := d.emu.DeviceCertificate(t, boardGUID)
	dir := t.TempDir()
	chain, key := filepath.Join(dir, "device-chain.pem"), filepath.Join(dir, "device.key")
	if err := os.WriteFile(chain, []byte(tlsca.CertificatePEM(*cert)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := keyfile.Write(key, cert.PrivateKey.(crypto.Signer)); err != nil {
		t.Fatal(err)
	}
	d.cfg["x509"] = map[string]string{"certificateFile": chain, "key": key}
	d.writeConfig(t)

	// Not enrolled yet: DPS refuses the certificate. The TPM is not used.
	code, text, rep := runDoctor(t, "--config", d.config)
	if code != 1 {
		t.Fatalf("exit %d:\n%s", code, text)
	}
	wantStatus(t, rep, "dps.status", doctor.Fail, "does not accept this device's certificate", "activated")
	for _, name := range []string{"tpm", "tpm.ek", "tpm.srk", "tpm.dpskey"} {
		wantStatus(t, rep, name, doctor.Skipped, "X.509")
	}

	d.enroll(t, &dpsapi.IndividualEnrollment{RegistrationID: boardGUID, Attestation: x509Attestation(tlsca.CertificatePEM(*cert))})
	code, text, rep = runDoctor(t, "--config", d.config)
	if code != 0 {
		t.Fatalf("exit %d once enrolled:\n%s", code, text)
	}
	wantStatus(t, rep, "dps.status", doctor.OK, "has not registered yet")

	// Registered: DPS says where it assigned the board.
	code, stderr := d.register(t, "--x509-cert", chain, "--x509-key", key)
	if code != 0 {
		t.Fatalf("register: exit %d: %s", code, stderr)
	}
	code, text, rep = runDoctor(t, "--config", d.config)
	if code != 0 {
		t.Fatalf("exit %d once registered:\n%s", code, text)
	}
	wantStatus(t, rep, "dps.status", doctor.OK, boardGUID+" is assigned to localhost as device "+boardGUID)
}

func TestDoctorDPSWrongCAAndUnreachable(t *testing.T) {
	d := newDevice(t)
	// A CA file of another CA (swtpm's EK certificate root): TLS does not verify.
	other := filepath.Join(t.TempDir(), "other-ca.pem")
	if err := os.WriteFile(other, swtpmtest.RootCert(t), 0o644); err != nil {
		t.Fatal(err)
	}
	d.cfg["dps"].(map[string]string)["caFile"] = other
	d.writeConfig(t)
	code, text, rep := runDoctor(t, "--config", d.config)
	if code != 1 {
		t.Fatalf("exit %d:\n%s", code, text)
	}
	wantStatus(t, rep, "dps.tls", doctor.Fail, "dps.caFile")
	wantStatus(t, rep, "dps.status", doctor.Skipped, "failed above")

	// Nothing listening where the config says DPS is.
	d.emu.Stop()
	d.cfg["dps"].(map[string]string)["caFile"] = filepath.Join(d.emu.Dir, tlsca.CertFile)
	d.writeConfig(t)
	code, text, rep = runDoctor(t, "--config", d.config)
	if code != 1 {
		t.Fatalf("exit %d with DPS down:\n%s", code, text)
	}
	wantStatus(t, rep, "dps.tls", doctor.Fail, d.emu.Endpoint)
	wantStatus(t, rep, "dps.status", doctor.Skipped)
}

// An X.509 board whose key is the TPM's (`oob-agent certify --key tpm`, against the factory's
// own EST server in process): without that key the look-up cannot be made; with it, DPS
// answers.
func TestDoctorDPSStatusX509KeyInTPM(t *testing.T) {
	d := newDevice(t)
	srv := esttest.Start(t)
	b := newBoard(t, boardGUID)
	d.cfg["x509"] = map[string]string{"certificateFile": devicecert.ChainPath(b.state), "key": "tpm"}
	d.writeConfig(t)

	code, text, rep := runDoctor(t, "--config", d.config)
	if code != 1 {
		t.Fatalf("exit %d before certify:\n%s", code, text)
	}
	wantStatus(t, rep, "tpm", doctor.OK, "TPM 2.0")
	wantStatus(t, rep, "tpm.ek", doctor.Skipped, "X.509")
	wantStatus(t, rep, "dps.status", doctor.Fail, "no device key at 0x81000101", "oob-agent certify")

	// The doctor created no key: certify makes it.
	if got := certified(t, b.args(srv, "--tpm", d.spec, "--key", "tpm")...); !got.KeyCreated {
		t.Errorf("certify found a device key the doctor made: %+v", got)
	}
	chain, err := est.ParsePEM(mustRead(t, devicecert.ChainPath(b.state)))
	if err != nil {
		t.Fatal(err)
	}
	leaf := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: chain[0].Raw}))
	d.enroll(t, &dpsapi.IndividualEnrollment{RegistrationID: boardGUID, Attestation: x509Attestation(leaf)})
	code, text, rep = runDoctor(t, "--config", d.config)
	if code != 0 {
		t.Fatalf("exit %d once certified and enrolled:\n%s", code, text)
	}
	wantStatus(t, rep, "dps.status", doctor.OK, "has not registered yet")
}

// x509Attestation is an X.509 enrollment's attestation by the client certificate pem.
func x509Attestation(pem string) *dpsapi.Attestation {
	return &dpsapi.Attestation{Type: dpsapi.AttestationX509, X509: &dpsapi.X509Attestation{
		ClientCertificates: &dpsapi.X509Certificates{Primary: &dpsapi.X509CertificateWithInfo{Certificate: pem}},
	}}
}

// A device whose clock is an hour off DPS's, then one whose config names a host no DNS knows:
// each is told which check failed and what to do, and the doctor exits 1.
func TestDoctorClockOffAndUnknownHost(t *testing.T) {
	d := newDevice(t)
	// DPS an hour ahead of the device: SAS tokens it signs would be refused as expired.
	d.emu.Stop()
	d.emu = emulatortest.StartWith(t, t.TempDir(), emulatortest.Options{ClockOffset: time.Hour})
	d.cfg["dps"] = map[string]string{"idScope": d.emu.IDScope, "endpoint": d.emu.Endpoint, "caFile": filepath.Join(d.emu.Dir, tlsca.CertFile)}
	d.writeConfig(t)
	code, text, rep := runDoctor(t, "--config", d.config)
	if code != 1 {
		t.Fatalf("exit %d with the clock an hour off:\n%s", code, text)
	}
	wantStatus(t, rep, "dps.clock", doctor.Fail, "behind")
	wantStatus(t, rep, "dps.tls", doctor.OK)

	d.cfg["dps"].(map[string]string)["endpoint"] = "no-such-dps.invalid"
	d.writeConfig(t)
	code, text, rep = runDoctor(t, "--config", d.config)
	if code != 1 {
		t.Fatalf("exit %d with an unknown host:\n%s", code, text)
	}
	wantStatus(t, rep, "dps.dns", doctor.Fail, "no-such-dps.invalid")
	wantStatus(t, rep, "dps.status", doctor.Skipped)
}
