package companion

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/internal/cli/dpsflags"
	"github.com/oobtpm/oob/internal/ektest"
	"github.com/oobtpm/oob/internal/emulator"
	"github.com/oobtpm/oob/internal/emulator/tlsca"
	"github.com/oobtpm/oob/internal/emulatortest"
	"github.com/oobtpm/oob/internal/scantest"
	"github.com/oobtpm/oob/pkg/dps"
	"github.com/oobtpm/oob/pkg/enroll"
	"github.com/oobtpm/oob/pkg/journal"
)

// newDevice is a device with a fresh standard-template EK, its registration ID derived.
func newDevice(t *testing.T, label string) journal.Device {
	t.Helper()
	id := ektest.Identity(t, label)
	return journal.Device{RegistrationID: id.RegistrationID, EndorsementKey: id.EndorsementKey, Label: label}
}

// command is a cobra command as runCmd uses it.
type command interface {
	SetArgs([]string)
	ExecuteContext(context.Context) error
}

// runCmd runs a companion command against the emulator and returns its outputs.
func runCmd(t *testing.T, emu *emulatortest.Emulator, cmd func(*cli.IOStreams) command, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	c := cmd(cli.Test(nil, &out, &errOut))
	if emu != nil {
		t.Setenv(dpsflags.EnvConnectionString, emu.ConnectionString.Secret())
		args = append(args, "--ca-file", filepath.Join(emu.Dir, tlsca.CertFile))
	}
	c.SetArgs(args)
	err = c.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

// quiet returns c without cobra printing errors and usage itself, so tests see only the error.
func quiet(c *cobra.Command) command {
	c.SilenceErrors, c.SilenceUsage = true, true
	return c
}

func syncCmd(ios *cli.IOStreams) command { return quiet(NewCmdSync(ios, nil)) }

// Enrollments queued while DPS throttled are sent by sync once it answers, each once, with the
// settings they were queued with; a conflict is recorded and not retried; a settled device is
// not sent again; a second sync sends nothing.
func TestSyncSendsQueuedOnce(t *testing.T) {
	emu := emulatortest.Start(t)
	svc := emu.Client(t, dps.Options{})
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "journal.db")
	j, err := journal.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	a, b, c, d, e := newDevice(t, "a"), newDevice(t, "b"), newDevice(t, "c"), newDevice(t, "d"), newDevice(t, "e")
	line := enroll.Settings{IoTHub: "line4.azure-devices.net", Tags: map[string]string{"line": "4"}}
	for _, dev := range []journal.Device{a, b, c, d, e} {
		if _, err := j.Queue(dev, line, enroll.Options{}, "DPS is throttling"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := j.Queue(c, enroll.Settings{DeviceID: "press-c"}, enroll.Options{}, "scanned again"); err != nil {
		t.Fatal(err)
	}
	// e got through in the scan itself after all: settled, not to be sent again.
	if _, err := j.RecordAttempt(e, line, enroll.Created, nil); err != nil {
		t.Fatal(err)
	}
	j.Close()
	// d's registration ID is enrolled with another device's key.
	other := newDevice(t, "other")
	other.RegistrationID = d.RegistrationID
	if _, err := enroll.Enroll(ctx, svc, ektest.Verify(t, other.Identity()), enroll.Settings{}, enroll.Options{}); err != nil {
		t.Fatal(err)
	}

	// DPS keeps throttling: nothing is sent, everything stays queued.
	if err := emu.Faults.Set(emulator.FaultConfig{ThrottleFor: emulator.Duration(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := runCmd(t, emu, syncCmd, "--journal", path, "--timeout", "2s", "--format", "json")
	if err == nil || cli.ExitCode(err, &bytes.Buffer{}) != cli.ExitError {
		t.Fatalf("sync while throttled: %v\n%s%s", err, stdout, stderr)
	}
	if pending := pendingIDs(t, path); len(pending) != 4 {
		t.Fatalf("after a throttled sync %d pending, want 4 (a, b, c, d)", len(pending))
	}

	// DPS answers, throttling every other request: each is sent once.
	if err := emu.Faults.Set(emulator.FaultConfig{ThrottleEvery: 2}); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err = runCmd(t, emu, syncCmd, "--journal", path, "--format", "json")
	var ce *cli.ConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("sync with a conflict: %v (want exit status 4)\n%s%s", err, stdout, stderr)
	}
	for _, want := range []string{`"outcome":"created"`, `"outcome":"conflict"`} {
		if !strings.Contains(stdout, want) {
			t.Errorf("sync's output lacks %s:\n%s", want, stdout)
		}
	}
	if pending := pendingIDs(t, path); len(pending) != 0 {
		t.Fatalf("still pending after sync: %v", pending)
	}

	// Again: nothing to send, nothing changes.
	stdout, stderr, err = runCmd(t, emu, syncCmd, "--journal", path)
	if err != nil || stdout != "" || !strings.Contains(stderr, "Nothing to send") {
		t.Fatalf("second sync: %v\n%s%s", err, stdout, stderr)
	}

	if err := emu.Faults.Set(emulator.FaultConfig{}); err != nil {
		t.Fatal(err)
	}
	for _, dev := range []journal.Device{a, b} {
		got, err := svc.GetEnrollment(ctx, dev.RegistrationID)
		if err != nil {
			t.Fatalf("%s (%s) was not enrolled: %v", dev.Label, dev.RegistrationID, err)
		}
		if len(got.IoTHubs) != 1 || got.IoTHubs[0] != line.IoTHub {
			t.Errorf("%s enrolled on hubs %v, want the queued settings' %s", dev.Label, got.IoTHubs, line.IoTHub)
		}
	}
	if got, err := svc.GetEnrollment(ctx, c.RegistrationID); err != nil || got.DeviceID != "press-c" {
		t.Errorf("c: %+v, %v; want its latest queued settings (device ID press-c)", got, err)
	}
	if got, err := svc.GetEnrollment(ctx, d.RegistrationID); err != nil || got.Attestation.TPM.EndorsementKey != b64(other.EndorsementKey) {
		t.Errorf("d's existing enrollment was changed: %+v, %v", got, err)
	}
	if _, err := svc.GetEnrollment(ctx, e.RegistrationID); !errors.Is(err, dps.ErrNotFound) {
		t.Errorf("e, settled in the journal, was sent: %v", err)
	}

	// The journal: one settling record per device, the failures before them kept.
	j, err = journal.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	es, err := j.Entries()
	if err != nil {
		t.Fatal(err)
	}
	sent := map[string][]enroll.Outcome{}
	for _, en := range es {
		if en.Kind == journal.Sent {
			sent[en.Device.Label] = append(sent[en.Device.Label], en.Outcome)
		}
	}
	for label, want := range map[string][]enroll.Outcome{
		"a": {enroll.Failed, enroll.Created}, "b": {enroll.Failed, enroll.Created},
		"c": {enroll.Failed, enroll.Created}, "d": {enroll.Failed, enroll.Conflict},
	} {
		if got := sent[label]; !slices.Equal(got, want) {
			t.Errorf("%s: sent records %v, want %v", label, got, want)
		}
	}
	if len(sent["e"]) != 0 {
		t.Errorf("e: sent records %v, want none", sent["e"])
	}
}

// A device queued by a scan run with --replace is sent by sync as it was queued: the
// enrollment that holds another key under its registration ID is replaced, not a conflict.
func TestSyncReplacesAsQueued(t *testing.T) {
	emu := emulatortest.Start(t)
	svc := emu.Client(t, dps.Options{})
	path := filepath.Join(t.TempDir(), "journal.db")
	j, err := journal.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	dev := newDevice(t, "new TPM")
	if _, err := j.Queue(dev, enroll.Settings{}, enroll.Options{Replace: true}, "DPS is throttling"); err != nil {
		t.Fatal(err)
	}
	j.Close()
	old := newDevice(t, "old TPM")
	old.RegistrationID = dev.RegistrationID
	if _, err := enroll.Enroll(t.Context(), svc, ektest.Verify(t, old.Identity()), enroll.Settings{}, enroll.Options{}); err != nil {
		t.Fatal(err)
	}

	stdout, stderr, err := runCmd(t, emu, syncCmd, "--journal", path, "--format", "json")
	if err != nil || !strings.Contains(stdout, `"outcome":"replaced"`) {
		t.Fatalf("sync of a device queued with replace: %v, want it replaced\n%s%s", err, stdout, stderr)
	}
	got, err := svc.GetEnrollment(t.Context(), dev.RegistrationID)
	if err != nil || got.Attestation.TPM.EndorsementKey != b64(dev.EndorsementKey) {
		t.Errorf("enrollment after sync: %+v, %v; want the queued device's key", got, err)
	}
	if pending := pendingIDs(t, path); len(pending) != 0 {
		t.Errorf("still pending after sync: %v", pending)
	}
}

// pendingIDs returns the registration IDs the journal at path still has to send.
func pendingIDs(t *testing.T, path string) []string {
	t.Helper()
	j, err := journal.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	return scantest.Pending(t, j)
}

func exportCmd(ios *cli.IOStreams) command { return quiet(NewCmdJournalExport(ios, nil)) }

func TestJournalExport(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	if _, _, err := runCmd(t, nil, exportCmd, "--journal", path); cli.ExitCode(err, &bytes.Buffer{}) != cli.ExitNotFound {
		t.Errorf("export of a missing journal: %v, want exit status 3", err)
	}
	if _, stderr, err := runCmd(t, nil, syncCmd, "--journal", path); err != nil || !strings.Contains(stderr, "no journal") {
		t.Errorf("sync of a missing journal: %v %s, want nothing to send", err, stderr)
	}
	j, err := journal.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	dev := newDevice(t, "press 7")
	if _, err := j.RecordSeen(dev, "/dev/video0", 88, time.Time{}); err != nil {
		t.Fatal(err)
	}
	j.Close()
	stdout, _, err := runCmd(t, nil, exportCmd, "--journal", path)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
	if err != nil || len(rows) != 2 || rows[0][0] != "seq" || rows[1][3] != dev.RegistrationID || rows[1][4] != "press 7" {
		t.Errorf("CSV export: %q, %v", rows, err)
	}
	stdout, _, err = runCmd(t, nil, exportCmd, "--journal", path, "--format", "json")
	if err != nil || !strings.Contains(stdout, `"kind":"seen"`) || strings.Count(stdout, "\n") != 1 {
		t.Errorf("JSON export: %q, %v", stdout, err)
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
