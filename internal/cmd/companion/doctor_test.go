package companion

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/internal/cli/dpsflags"
	"github.com/oobtpm/oob/internal/ektest"
	"github.com/oobtpm/oob/internal/emulator/tlsca"
	"github.com/oobtpm/oob/internal/emulatortest"
	"github.com/oobtpm/oob/pkg/doctor"
	"github.com/oobtpm/oob/pkg/dps"
	"github.com/oobtpm/oob/pkg/enroll"
	"github.com/oobtpm/oob/pkg/journal"
	"github.com/oobtpm/oob/pkg/sas"
)

// The doctor runs against the emulator over real TLS. Each test breaks one thing and checks
// that its line says so, with what to do, and that the exit status follows. No webcam can be
// attached where these tests run: the cameras are looked for in a folder of the test's own.

// doctorResult is one run of the doctor: its report and its exit status.
type doctorResult struct {
	report struct {
		Blocked bool            `json:"blocked"`
		Checks  []doctor.Result `json:"checks"`
	}
	out  string
	exit int
}

// check returns the named check's result.
func (r doctorResult) check(t *testing.T, name string) doctor.Result {
	t.Helper()
	for _, c := range r.report.Checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no check %s in %s", name, r.out)
	return doctor.Result{}
}

// want asserts the named check's status and that its detail and fix hold each part.
func (r doctorResult) want(t *testing.T, name string, status doctor.Status, parts ...string) {
	t.Helper()
	c := r.check(t, name)
	if c.Status != status {
		t.Errorf("%s: %s, want %s: %s → %s", name, c.Status, status, c.Detail, c.Fix)
	}
	for _, p := range parts {
		if !strings.Contains(c.Detail+" → "+c.Fix, p) {
			t.Errorf("%s: %q lacks %q", name, c.Detail+" → "+c.Fix, p)
		}
	}
}

// runDoctor runs `companion doctor --format json` with the connection string cs in the
// environment (none when empty) and the CA file caFile, a fresh journal unless args name one,
// and cameras looked for in an empty folder.
func runDoctor(t *testing.T, cs, caFile string, args ...string) doctorResult {
	t.Helper()
	if cs != "" {
		t.Setenv(dpsflags.EnvConnectionString, cs)
	} else {
		t.Setenv(dpsflags.EnvConnectionString, "") // restored when the test ends
		os.Unsetenv(dpsflags.EnvConnectionString)
	}
	t.Setenv(dpsflags.EnvCAFile, "")
	var out, errOut bytes.Buffer
	ios := cli.Test(nil, &out, &errOut)
	var r doctorResult
	cmd := NewCmdDoctor(ios, func(ctx context.Context, o *DoctorOptions) error {
		o.cameras = filepath.Join(t.TempDir(), "video*")
		if o.Journal == "" {
			o.Journal = filepath.Join(t.TempDir(), "journal.db")
		}
		return doctorRun(ctx, o)
	})
	if caFile != "" {
		args = append(args, "--ca-file", caFile)
	}
	cmd.SetArgs(append(args, "--format", "json"))
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	r.exit = cli.ExitCode(cmd.ExecuteContext(context.Background()), &errOut)
	r.out = out.String() + errOut.String()
	if err := json.Unmarshal(out.Bytes(), &r.report); err != nil {
		t.Fatalf("doctor's JSON: %v\n%s", err, r.out)
	}
	for _, c := range r.report.Checks {
		t.Logf("%s %s: %s → %s", c.Status, c.Name, c.Detail, c.Fix)
	}
	return r
}

func caOf(e *emulatortest.Emulator) string { return filepath.Join(e.Dir, tlsca.CertFile) }

func TestDoctorAllWellExitsZero(t *testing.T) {
	emu := emulatortest.Start(t)
	r := runDoctor(t, emu.ConnectionString.Secret(), caOf(emu))
	if r.exit != cli.ExitOK || r.report.Blocked {
		t.Fatalf("exit %d, blocked %v:\n%s", r.exit, r.report.Blocked, r.out)
	}
	r.want(t, "dps.connection-string", doctor.OK, "HostName "+emu.ConnectionString.HostName, "policy provisioningserviceowner", "$DPS_CONNECTION_STRING")
	r.want(t, "ca.file", doctor.OK, caOf(emu), "dps-emulator local CA")
	r.want(t, "dps.dns", doctor.OK, "localhost resolves to")
	r.want(t, "dps.tls", doctor.OK, "verified with the CA file "+caOf(emu))
	r.want(t, "dps.clock", doctor.OK, "agrees with DPS")
	r.want(t, "dps.credentials", doctor.OK, "accepted policy provisioningserviceowner's key")
	r.want(t, "journal.pending", doctor.OK, "no journal yet")
	r.want(t, "journal.conflicts", doctor.OK, "no journal yet")
	r.want(t, "cameras", doctor.Warn, "no camera found", "plug in a USB webcam", "--images DIR")
	r.want(t, "ffmpeg", doctor.OK, "ffmpeg ", "/ffmpeg")
	if strings.Contains(r.out, emu.ConnectionString.Key.Base64()) {
		t.Fatal("the report shows the key")
	}
}

func TestDoctorTextShowsMarksAndTheVerdict(t *testing.T) {
	emu := emulatortest.Start(t)
	t.Setenv(dpsflags.EnvConnectionString, emu.ConnectionString.Secret())
	var out bytes.Buffer
	cmd := NewCmdDoctor(cli.Test(nil, &out, &out), func(ctx context.Context, o *DoctorOptions) error {
		o.cameras = filepath.Join(t.TempDir(), "video*")
		return doctorRun(ctx, o)
	})
	cmd.SetArgs([]string{"--ca-file", caOf(emu), "--journal", filepath.Join(t.TempDir(), "j.db")})
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	text := out.String()
	for _, want := range []string{"✔ DPS connection string: from $DPS_CONNECTION_STRING", "✔ DPS accepts the key:",
		"! Cameras: no camera found", "  → plug in a USB webcam", "10 checks: 9 ok, 1 warnings, 0 failed, 0 skipped; nothing blocks onboarding\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
}

func TestDoctorWrongKeyFailsTheCredentials(t *testing.T) {
	emu := emulatortest.Start(t)
	wrong := emu.ConnectionString
	var err error
	if wrong.Key, err = sas.ParseKey("d3JvbmcgYnV0IHdlbGwtZm9ybWVkIGtleSBvZiAzMiBieXRlcyE="); err != nil {
		t.Fatal(err)
	}
	r := runDoctor(t, wrong.Secret(), caOf(emu))
	if r.exit != cli.ExitError || !r.report.Blocked {
		t.Fatalf("a wrong key: exit %d, want 1", r.exit)
	}
	r.want(t, "dps.connection-string", doctor.OK)
	r.want(t, "dps.tls", doctor.OK)
	r.want(t, "dps.credentials", doctor.Fail, "DPS refused policy provisioningserviceowner's key (401", "copy the connection string again")
	if strings.Contains(r.out, wrong.Key.Base64()) {
		t.Fatal("the report shows the key")
	}
}

func TestDoctorAnotherCAFailsTLSNamingTheIssuer(t *testing.T) {
	emu := emulatortest.Start(t)
	dir := t.TempDir()
	if _, err := tlsca.LoadOrCreate(dir); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, tlsca.CertFile)
	r := runDoctor(t, emu.ConnectionString.Secret(), other)
	if r.exit != cli.ExitError {
		t.Fatalf("exit %d, want 1", r.exit)
	}
	r.want(t, "ca.file", doctor.OK)
	r.want(t, "dps.tls", doctor.Fail, `issued by "CN=dps-emulator local CA`, "the CA file "+other, "--ca-file FILE or $DPS_CA_FILE")
	r.want(t, "dps.clock", doctor.Skipped)
	r.want(t, "dps.credentials", doctor.Fail, "not answered")
}

func TestDoctorUnknownHostFailsDNS(t *testing.T) {
	emu := emulatortest.Start(t)
	cs := emu.ConnectionString
	cs.HostName = "no-such-dps.invalid"
	r := runDoctor(t, cs.Secret(), caOf(emu))
	if r.exit != cli.ExitError {
		t.Fatalf("exit %d, want 1", r.exit)
	}
	r.want(t, "dps.dns", doctor.Fail, "no-such-dps.invalid does not resolve", "the connection string's HostName")
	r.want(t, "dps.tls", doctor.Fail, "no-such-dps.invalid")
}

func TestDoctorClockAnHourOffFails(t *testing.T) {
	emu := emulatortest.StartWith(t, t.TempDir(), emulatortest.Options{ClockOffset: time.Hour})
	r := runDoctor(t, emu.ConnectionString.Secret(), caOf(emu))
	if r.exit != cli.ExitError {
		t.Fatalf("exit %d, want 1", r.exit)
	}
	r.want(t, "dps.clock", doctor.Fail, "1h0m0s behind DPS", "timedatectl")
	// DPS, an hour ahead, finds the token expired: the credentials line points at the clock.
	r.want(t, "dps.credentials", doctor.Fail, "expired", "set the clock first")
}

func TestDoctorJournalWithAPendingDeviceAndAConflict(t *testing.T) {
	emu := emulatortest.Start(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "journal.db")
	j, err := journal.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	queued, clash := newDevice(t, "queued"), newDevice(t, "clash")
	// clash's registration ID is enrolled with another device's key; sync records the conflict.
	other := newDevice(t, "other")
	other.RegistrationID = clash.RegistrationID
	if _, err := enroll.Enroll(ctx, emu.Client(t, dps.Options{}), ektest.Verify(t, other.Identity()), enroll.Settings{}, enroll.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Queue(clash, enroll.Settings{}, enroll.Options{}, "DPS is throttling"); err != nil {
		t.Fatal(err)
	}
	j.Close()
	if _, _, err := runCmd(t, emu, syncCmd, "--journal", path); err == nil {
		t.Fatal("sync of a conflicting device succeeded")
	}
	// queued waits: DPS was unreachable when it was scanned.
	if j, err = journal.Open(path); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Queue(queued, enroll.Settings{}, enroll.Options{}, "DPS is unreachable"); err != nil {
		t.Fatal(err)
	}
	j.Close()

	r := runDoctor(t, emu.ConnectionString.Secret(), caOf(emu), "--journal", path)
	if r.exit != cli.ExitOK {
		t.Fatalf("queued enrollments and conflicts are warnings: exit %d", r.exit)
	}
	r.want(t, "journal.pending", doctor.Warn, "1 enrollment(s) queued", queued.RegistrationID, "companion sync --journal "+path)
	r.want(t, "journal.conflicts", doctor.Warn, "1 registration ID(s) enrolled with another key", clash.RegistrationID, "companion enroll --replace")
	if c := r.check(t, "journal.pending"); strings.Contains(c.Detail, clash.RegistrationID) {
		t.Error("the conflicting device, settled by sync, is listed as pending")
	}
}

func TestDoctorWithoutFFmpegWarns(t *testing.T) {
	emu := emulatortest.Start(t)
	t.Setenv("PATH", t.TempDir())
	r := runDoctor(t, emu.ConnectionString.Secret(), caOf(emu))
	r.want(t, "ffmpeg", doctor.Warn, "ffmpeg is not on PATH", "apt install ffmpeg", "--video")
	if r.exit != cli.ExitOK {
		t.Fatalf("exit %d: a missing ffmpeg does not block V4L2 scans", r.exit)
	}
}

func TestDoctorMalformedConnectionStringNeverShowsTheKey(t *testing.T) {
	const key = "c2VjcmV0LWtleS10aGF0LW11c3Qtbm90LWxlYWstMTIzNA=="
	for name, cs := range map[string]string{
		"unknown field":  "HostName=my-dps.azure-devices-provisioning.net;SharedAccessKeyName=provisioningserviceowner;SharedAccessKey=" + key + ";Bogus" + key + "=1",
		"missing host":   "SharedAccessKeyName=provisioningserviceowner;SharedAccessKey=" + key,
		"damaged key":    "HostName=my-dps.azure-devices-provisioning.net;SharedAccessKeyName=provisioningserviceowner;SharedAccessKey=" + key[:20] + "!!",
		"an IoT Hub one": "HostName=hub.azure-devices.net;SharedAccessKeyName=iothubowner;SharedAccessKey=" + key,
	} {
		t.Run(name, func(t *testing.T) {
			r := runDoctor(t, cs, "")
			if r.exit != cli.ExitError {
				t.Fatalf("exit %d, want 1", r.exit)
			}
			r.want(t, "dps.connection-string", doctor.Fail, "$DPS_CONNECTION_STRING is unusable")
			r.want(t, "dps.dns", doctor.Skipped)
			r.want(t, "dps.credentials", doctor.Skipped)
			if strings.Contains(r.out, key) || strings.Contains(r.out, key[:20]) {
				t.Fatalf("the report shows the key:\n%s", r.out)
			}
		})
	}
}

func TestDoctorWithoutAConnectionStringSaysWhereToPutIt(t *testing.T) {
	r := runDoctor(t, "", "")
	r.want(t, "dps.connection-string", doctor.Fail, "no connection string", "--connection-string-file", "service-connection-string")
	if r.exit != cli.ExitError {
		t.Fatalf("exit %d, want 1", r.exit)
	}
}

func TestDoctorNamedCameraThatIsNotThereFails(t *testing.T) {
	emu := emulatortest.Start(t)
	r := runDoctor(t, emu.ConnectionString.Secret(), caOf(emu), "--camera", filepath.Join(t.TempDir(), "video7"))
	r.want(t, "cameras", doctor.Fail, "no camera at", "ls /dev/video*")
}

func TestDoctorJournalInUseWarns(t *testing.T) {
	emu := emulatortest.Start(t)
	path := filepath.Join(t.TempDir(), "journal.db")
	// A running scan holds the journal's lock.
	j, err := journal.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	r := runDoctor(t, emu.ConnectionString.Secret(), caOf(emu), "--journal", path)
	r.want(t, "journal.pending", doctor.Warn, "in use by another companion", "run the doctor again")
	r.want(t, "journal.conflicts", doctor.Warn, "in use by another companion")
}

func TestDoctorMissingCAFileFailsAndSkipsWhatNeedsIt(t *testing.T) {
	emu := emulatortest.Start(t)
	missing := filepath.Join(t.TempDir(), "ca.pem")
	r := runDoctor(t, emu.ConnectionString.Secret(), missing)
	if r.exit != cli.ExitError {
		t.Fatalf("exit %d, want 1", r.exit)
	}
	r.want(t, "ca.file", doctor.Fail, "cannot read "+missing, "--ca-file FILE or $DPS_CA_FILE")
	r.want(t, "dps.tls", doctor.Fail, "reading CA file")
	r.want(t, "dps.clock", doctor.Skipped, "CA file is unusable")
	r.want(t, "dps.credentials", doctor.Skipped, "CA file is unusable")
}
