package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/internal/emulator/tlsca"
	"github.com/oobtpm/oob/internal/emulatortest"
	"github.com/oobtpm/oob/internal/swtpmtest"
	"github.com/oobtpm/oob/pkg/doctor"
	"github.com/oobtpm/oob/pkg/dps"
	"github.com/oobtpm/oob/pkg/dpsapi"
	"github.com/oobtpm/oob/pkg/firstboot"
	"github.com/spf13/cobra"
)

// These tests break one thing at a time on a real device's parts: swtpm, manufactured as a TPM
// maker would (EK persisted, its certificate in NV), changed with tpm2-tools; unit files in a
// temporary root switched with the real systemctl --root; the agent's own config and state.

const workloadUnit = "[Unit]\nDescription=the workload\n[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n"

// device is a swtpm, the DPS emulator and an agent config for both whose finalize step enables
// kiosk.service in an offline root.
type device struct {
	spec, tcti string
	emu        *emulatortest.Emulator
	config     string
	stateDir   string
	root       string
	// cfg is the config's JSON object; writeConfig writes it again after a test changed it.
	cfg map[string]any
}

func (d device) writeConfig(t *testing.T) {
	t.Helper()
	b, err := json.Marshal(d.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(d.config, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func newDevice(t *testing.T) device {
	t.Helper()
	if _, err := exec.LookPath("systemctl"); err != nil {
		if os.Getenv("OOB_E2E") == "1" {
			t.Fatal("systemctl is not installed (Debian package systemd)")
		}
		t.Skip("systemctl is not installed (Debian package systemd)")
	}
	spec, tcti := swtpmtest.Start(t)
	dir := t.TempDir()
	d := device{spec: spec, tcti: tcti, emu: emulatortest.Start(t), config: filepath.Join(dir, "agent.json"),
		stateDir: filepath.Join(dir, "state"), root: filepath.Join(dir, "root")}
	unit := filepath.Join(d.root, "usr/lib/systemd/system/kiosk.service")
	if err := os.MkdirAll(filepath.Dir(unit), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(unit, []byte(workloadUnit), 0o644); err != nil {
		t.Fatal(err)
	}
	d.cfg = map[string]any{
		"version":  1,
		"tpm":      map[string]string{"path": spec},
		"dps":      map[string]string{"idScope": d.emu.IDScope, "endpoint": d.emu.Endpoint, "caFile": filepath.Join(d.emu.Dir, tlsca.CertFile)},
		"stateDir": d.stateDir,
		"finalize": map[string]any{"enable": []string{"kiosk.service"}, "disable": []string{"oob-agent.service"}, "root": d.root},
	}
	d.writeConfig(t)
	return d
}

// tpm2 runs a tpm2-tools program on the device's TPM, then flushes the transient objects it
// left: swtpm has no resource manager.
func (d device) tpm2(t *testing.T, name string, args ...string) {
	t.Helper()
	for _, cmdline := range [][]string{append([]string{name}, args...), {"tpm2_flushcontext", "-t"}} {
		cmd := exec.Command(swtpmtest.Tool(t, cmdline[0], "tpm2-tools"), cmdline[1:]...)
		cmd.Env = append(os.Environ(), "TPM2TOOLS_TCTI="+d.tcti)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v: %s", strings.Join(cmdline, " "), err, out)
		}
	}
}

// enrollAndRegister enrolls the device's TPM identity, as `identity` reads it, in the emulator
// with the given provisioning status ("" for enabled) and registers it with `register
// --no-hub`; it returns the exit code, standard error and the registration ID.
func (d device) enrollAndRegister(t *testing.T, status dpsapi.ProvisioningStatus) (int, string, string) {
	t.Helper()
	code, out, stderr := identityOutput(t, "--tpm", d.spec, "--format", "json")
	var id identityJSON
	if code != 0 || json.Unmarshal([]byte(out), &id) != nil {
		t.Fatalf("identity: exit %d: %s %s", code, out, stderr)
	}
	d.enroll(t, &dpsapi.IndividualEnrollment{
		RegistrationID: id.RegistrationID, ProvisioningStatus: status,
		Attestation: &dpsapi.Attestation{Type: dpsapi.AttestationTPM, TPM: &dpsapi.TPMAttestation{EndorsementKey: id.EndorsementKey, StorageRootKey: id.StorageRootKey}},
	})
	code, stderr = d.register(t, "--tpm", d.spec)
	return code, stderr, id.RegistrationID
}

// enroll creates the enrollment in the device's emulator.
func (d device) enroll(t *testing.T, e *dpsapi.IndividualEnrollment) {
	t.Helper()
	if _, err := d.emu.Client(t, dps.Options{}).CreateOrUpdateEnrollment(t.Context(), e, ""); err != nil {
		t.Fatal(err)
	}
}

// register runs `oob-agent register --no-hub` against the device's emulator with the given
// attestation flags and returns the exit code and standard error.
func (d device) register(t *testing.T, args ...string) (int, string) {
	t.Helper()
	return execute(t, func(ios *cli.IOStreams) *cobra.Command { return NewCmdRegister(ios, nil) }, append(args,
		"--id-scope", d.emu.IDScope, "--endpoint", d.emu.Endpoint, "--ca-file", filepath.Join(d.emu.Dir, tlsca.CertFile), "--no-hub")...)
}

// persisted says whether something is persisted at handle, asking tpm2_readpublic.
func (d device) persisted(t *testing.T, handle string) bool {
	t.Helper()
	cmd := exec.Command(swtpmtest.Tool(t, "tpm2_readpublic", "tpm2-tools"), "-c", handle)
	cmd.Env = append(os.Environ(), "TPM2TOOLS_TCTI="+d.tcti)
	return cmd.Run() == nil
}

// persistPrimary creates a primary key in hierarchy with tpm2_createprimary's extra args and
// persists it at handle, replacing what is there.
func (d device) persistPrimary(t *testing.T, hierarchy, handle string, args ...string) {
	t.Helper()
	if d.persisted(t, handle) {
		d.tpm2(t, "tpm2_evictcontrol", "-C", "o", "-c", handle)
	}
	ctxFile := filepath.Join(t.TempDir(), "key.ctx")
	d.tpm2(t, "tpm2_createprimary", append([]string{"-C", hierarchy, "-c", ctxFile}, args...)...)
	d.tpm2(t, "tpm2_evictcontrol", "-C", "o", "-c", ctxFile, handle)
}

// doctorReport is `doctor --format json`'s output.
type doctorReport struct {
	Blocked bool            `json:"blocked"`
	Checks  []doctor.Result `json:"checks"`
}

func (r doctorReport) check(t *testing.T, name string) doctor.Result {
	t.Helper()
	for _, c := range r.Checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no check %q in %+v", name, r.Checks)
	return doctor.Result{}
}

// runDoctor runs `oob-agent doctor` through the agent's command tree, as text and as JSON, and
// returns the exit code (the same for both), the text and the report.
func runDoctor(t *testing.T, args ...string) (int, string, doctorReport) {
	t.Helper()
	run := func(extra ...string) (int, string) {
		var out, errOut bytes.Buffer
		ios := cli.Test(strings.NewReader(""), &out, &errOut)
		root := NewRootCmd(ios, "test")
		root.SetArgs(append(append([]string{"doctor"}, args...), extra...))
		code := cli.ExitCode(root.ExecuteContext(context.Background()), &errOut)
		if errOut.Len() > 0 {
			t.Errorf("doctor wrote to standard error: %s", errOut.String())
		}
		return code, out.String()
	}
	code, text := run()
	jsCode, js := run("--format", "json")
	var rep doctorReport
	if err := json.Unmarshal([]byte(js), &rep); err != nil {
		t.Fatalf("doctor --format json: %v: %s", err, js)
	}
	if jsCode != code || rep.Blocked != (code != 0) {
		t.Errorf("exit %d as text, %d as JSON, blocked %v", code, jsCode, rep.Blocked)
	}
	return code, text, rep
}

// wantStatus asserts one check's status and that its detail and fix say what is expected.
func wantStatus(t *testing.T, rep doctorReport, name string, status doctor.Status, says ...string) {
	t.Helper()
	c := rep.check(t, name)
	if c.Status != status {
		t.Errorf("%s: %s (%s; %s), want %s", name, c.Status, c.Detail, c.Fix, status)
	}
	for _, s := range says {
		if !strings.Contains(c.Detail+" "+c.Fix, s) {
			t.Errorf("%s says %q / %q, without %q", name, c.Detail, c.Fix, s)
		}
	}
	if (status == doctor.Fail || status == doctor.Warn) && c.Fix == "" {
		t.Errorf("%s: %s without what to do", name, status)
	}
}

func TestDoctorHealthyDevice(t *testing.T) {
	d := newDevice(t)
	code, text, rep := runDoctor(t, "--config", d.config)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, text)
	}
	for _, c := range rep.Checks {
		if c.Status != doctor.OK && c.Name != "dps.status" {
			t.Errorf("%s: %s: %s", c.Name, c.Status, c.Detail)
		}
	}
	wantStatus(t, rep, "tpm", doctor.OK, d.spec, "TPM 2.0", "IBM")
	wantStatus(t, rep, "tpm.ek", doctor.OK, "standard template", "registration ID")
	wantStatus(t, rep, "tpm.ekcert", doctor.OK, "swtpm", "certifies this EK")
	wantStatus(t, rep, "tpm.srk", doctor.OK, "creates it")
	wantStatus(t, rep, "tpm.dpskey", doctor.OK, "not registered yet")
	wantStatus(t, rep, "state", doctor.OK, "a new device")
	wantStatus(t, rep, "finalize", doctor.OK, "kiosk.service disabled")
	wantStatus(t, rep, "ca.file", doctor.OK)
	wantStatus(t, rep, "dps.dns", doctor.OK, "localhost")
	wantStatus(t, rep, "dps.tls", doctor.OK, "verified with the CA file")
	wantStatus(t, rep, "dps.clock", doctor.OK, "agrees with DPS")
	// A TPM device that never registered holds no key DPS would take for a look-up.
	wantStatus(t, rep, "dps.status", doctor.Skipped, "holds none")
	if !strings.Contains(text, "✔ Endorsement key (0x81010001): ") || !strings.Contains(text, "nothing blocks onboarding") {
		t.Errorf("text:\n%s", text)
	}
	// Looking created nothing: no SRK was persisted, the state directory was not made.
	if d.persisted(t, "0x81000001") {
		t.Error("the doctor persisted an SRK")
	}
	if _, err := os.Stat(d.stateDir); err == nil {
		t.Error("the doctor made the state directory")
	}
}

func TestDoctorTPMWithoutEK(t *testing.T) {
	d := newDevice(t)
	d.tpm2(t, "tpm2_evictcontrol", "-C", "o", "-c", "0x81010001")
	code, text, rep := runDoctor(t, "--config", d.config)
	if code != 0 {
		t.Fatalf("exit %d (the agent creates the EK):\n%s", code, text)
	}
	wantStatus(t, rep, "tpm.ek", doctor.OK, "none persisted", "the agent creates it")
	wantStatus(t, rep, "tpm.ekcert", doctor.OK, "created at first boot")
	if d.persisted(t, "0x81010001") {
		t.Error("the doctor created the EK")
	}
}

func TestDoctorNonStandardEK(t *testing.T) {
	d := newDevice(t)
	// A restricted RSA-2048 decryption key in the endorsement hierarchy, with a password
	// instead of the EK's policy: tpm2_createprimary's defaults.
	d.persistPrimary(t, "e", "0x81010001", "-G", "rsa2048:aes128cfb")
	code, text, rep := runDoctor(t, "--config", d.config)
	if code != 1 {
		t.Fatalf("exit %d:\n%s", code, text)
	}
	wantStatus(t, rep, "tpm.ek", doctor.Fail, "not made from the TCG's standard EK template", "tpm2_evictcontrol -C o -c 0x81010001")
	wantStatus(t, rep, "tpm.ekcert", doctor.Warn, "another key")
	if !strings.Contains(text, "✘ Endorsement key (0x81010001): ") || !strings.Contains(text, "onboarding is blocked") {
		t.Errorf("text:\n%s", text)
	}

	// As the agent finds out: enrolled with this EK, its registration fails at the import of
	// DPS's key, the EK's policy not being the endorsement policy.
	code, stderr, _ := d.enrollAndRegister(t, "")
	if code != 1 || !strings.Contains(stderr, "the TPM refused DPS's key") {
		t.Errorf("register with a non-standard EK: exit %d: %s", code, stderr)
	}
}

func TestDoctorEKCertificateNotMatching(t *testing.T) {
	d := newDevice(t)
	// A new endorsement seed (which also flushes the EK), then the agent's identity creates
	// the EK again: another key than the certificate's.
	d.tpm2(t, "tpm2_changeeps")
	if code, _, stderr := identityOutput(t, "--tpm", d.spec); code != 0 {
		t.Fatalf("identity: exit %d: %s", code, stderr)
	}
	code, text, rep := runDoctor(t, "--config", d.config)
	if code != 0 {
		t.Fatalf("exit %d (a mismatching certificate is a warning, as identity's):\n%s", code, text)
	}
	wantStatus(t, rep, "tpm.ek", doctor.OK)
	wantStatus(t, rep, "tpm.ekcert", doctor.Warn, "another key", "regenerated", "--require-ek-cert")
	if !strings.Contains(text, "! EK certificate") {
		t.Errorf("text:\n%s", text)
	}
}

func TestDoctorWrongSRKTemplate(t *testing.T) {
	d := newDevice(t)
	d.persistPrimary(t, "o", "0x81000001", "-G", "rsa2048:aes256cfb")
	code, text, rep := runDoctor(t, "--config", d.config)
	if code != 1 {
		t.Fatalf("exit %d:\n%s", code, text)
	}
	wantStatus(t, rep, "tpm.srk", doctor.Fail, "another template", "tpm2_evictcontrol -C o -c 0x81000001")
	// As the agent finds out: enrolled with this SRK, its registration fails (the emulator, as
	// DPS, cannot seal its key to an AES-256 SRK: 400004).
	code, stderr, _ := d.enrollAndRegister(t, "")
	if code != 1 || !strings.Contains(stderr, "error 400004") {
		t.Errorf("register with an AES-256 SRK: exit %d: %s", code, stderr)
	}
}

func TestDoctorForeignObjectInDPSKeySlot(t *testing.T) {
	d := newDevice(t)
	d.persistPrimary(t, "o", "0x81000100", "-G", "rsa2048", "-a", "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign")
	code, text, rep := runDoctor(t, "--config", d.config)
	if code != 1 {
		t.Fatalf("exit %d:\n%s", code, text)
	}
	wantStatus(t, rep, "tpm.dpskey", doctor.Fail, "not an HMAC key", "tpm2_evictcontrol -C o -c 0x81000100")
}

func TestDoctorDamagedState(t *testing.T) {
	d := newDevice(t)
	if err := os.MkdirAll(d.stateDir, 0o700); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(d.stateDir, firstboot.StateFile)
	if err := os.WriteFile(file, []byte(`{"stage": "registered", "upd`), 0o600); err != nil {
		t.Fatal(err)
	}
	code, text, rep := runDoctor(t, "--config", d.config)
	if code != 1 {
		t.Fatalf("exit %d:\n%s", code, text)
	}
	wantStatus(t, rep, "state", doctor.Fail, "damaged", "mv "+file)

	// A whole state file: its stage and registration are reported.
	if err := firstboot.SaveState(d.stateDir, firstboot.State{Stage: firstboot.StageRegistered, RegistrationID: "dev-1", AssignedHub: "hub.example"}); err != nil {
		t.Fatal(err)
	}
	code, _, rep = runDoctor(t, "--config", d.config)
	if code != 0 {
		t.Errorf("exit %d with a whole state", code)
	}
	wantStatus(t, rep, "state", doctor.OK, `stage "registered"`, "dev-1", "hub.example")
}

func TestDoctorMaskedWorkloadUnit(t *testing.T) {
	d := newDevice(t)
	if out, err := exec.Command("systemctl", "--root="+d.root, "mask", "kiosk.service").CombinedOutput(); err != nil {
		t.Fatalf("mask: %v: %s", err, out)
	}
	code, text, rep := runDoctor(t, "--config", d.config)
	if code != 1 {
		t.Fatalf("exit %d:\n%s", code, text)
	}
	wantStatus(t, rep, "finalize", doctor.Fail, "kiosk.service", "masked", "systemctl unmask kiosk.service")
}

func TestDoctorMissingConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agent.json")
	code, text, rep := runDoctor(t, "--config", path)
	if code != 1 {
		t.Fatalf("exit %d:\n%s", code, text)
	}
	wantStatus(t, rep, "config", doctor.Fail, path, "--config")
	for _, c := range rep.Checks[1:] {
		if c.Status != doctor.Skipped {
			t.Errorf("%s: %s without a config", c.Name, c.Status)
		}
	}
}

// The help lists every check by the name scripts see in --format json.
func TestDoctorHelpNamesEveryCheck(t *testing.T) {
	long := NewCmdDoctor(cli.Test(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})).Long
	for _, c := range (&agentDoctor{}).checks() {
		if !strings.Contains(long, "\n  "+c.Name+" ") {
			t.Errorf("--help does not name check %q", c.Name)
		}
	}
}

func TestDoctorOwnerPasswordNotGiven(t *testing.T) {
	d := newDevice(t)
	d.tpm2(t, "tpm2_evictcontrol", "-C", "o", "-c", "0x81010001")
	d.tpm2(t, "tpm2_changeauth", "-c", "o", "owner-secret")
	code, text, rep := runDoctor(t, "--config", d.config)
	if code != 1 {
		t.Fatalf("exit %d:\n%s", code, text)
	}
	// The agent could create the EK and SRK, but not persist them.
	wantStatus(t, rep, "tpm.ek", doctor.Fail, "owner hierarchy has a password", "tpm.ownerAuthFile")
	wantStatus(t, rep, "tpm.srk", doctor.Fail, "owner hierarchy has a password", "tpm.ownerAuthFile")
	// As the agent finds out: its identity stops there.
	if code, _, stderr := identityOutput(t, "--tpm", d.spec); code == 0 || !strings.Contains(stderr, "owner hierarchy has a password") {
		t.Errorf("identity without the owner's password: exit %d: %s", code, stderr)
	}

	file := filepath.Join(t.TempDir(), "owner-auth")
	if err := os.WriteFile(file, []byte("owner-secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	d.cfg["tpm"] = map[string]string{"path": d.spec, "ownerAuthFile": file}
	d.writeConfig(t)
	code, text, rep = runDoctor(t, "--config", d.config)
	if code != 0 {
		t.Fatalf("exit %d with the password given:\n%s", code, text)
	}
	wantStatus(t, rep, "tpm.ek", doctor.OK, "the agent creates it")
	if code, _, stderr := identityOutput(t, "--tpm", d.spec, "--owner-auth-file", file); code != 0 {
		t.Errorf("identity with the owner's password: exit %d: %s", code, stderr)
	}
}
