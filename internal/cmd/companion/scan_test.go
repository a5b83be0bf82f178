package companion

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/internal/cli/dpsflags"
	"github.com/oobtpm/oob/internal/emulatortest"
	"github.com/oobtpm/oob/internal/scantest"
	"github.com/oobtpm/oob/pkg/dps"
	"github.com/oobtpm/oob/pkg/identity"
)

func scanCmd(ios *cli.IOStreams) command { return quiet(NewCmdScan(ios, nil)) }

// Command-line mistakes are usage errors (exit status 2) that say what to give instead, found
// before any camera, journal or DPS is touched.
func TestScanUsageErrors(t *testing.T) {
	t.Setenv(dpsflags.EnvConnectionString, "")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "give one frame source"},
		{[]string{"--images", "a", "--video", "b"}, "give one frame source"},
		{[]string{"--images", "a", "--size", "1280"}, "give WIDTHxHEIGHT"},
		{[]string{"--images", "a", "--size", "0x720"}, "give WIDTHxHEIGHT"},
		{[]string{"--images", "a", "--pixel-format", "mjpeg"}, "--pixel-format applies to --camera only"},
		{[]string{"--camera", "/dev/video0", "--pixel-format", "h264"}, "--pixel-format"},
		{[]string{"--ffmpeg-input", `-f dshow -i "video=USB`}, "--ffmpeg-input"},
		{[]string{"--images", "a", "--device-id", "line-{serial}"}, "unknown placeholder {serial}"},
		{[]string{"--images", "a", "--device-id", "line {n}"}, "device ID"},
		{[]string{"--images", "a", "--device-id", "line-4"}, "the same device ID"},
		{[]string{"--images", "a", "--device-id", "line-{n:0}"}, "width"},
		{[]string{"--images", "a", "--first-number", "0"}, "--first-number"},
		{[]string{"--images", "a", "--tag", "novalue"}, "--tag"},
		{[]string{"--images", "a", "--iot-hub", "not a host"}, "hub"},
		{[]string{"--images", "a", "--fps", "-1"}, "--fps"},
	} {
		_, _, err := runCmd(t, nil, scanCmd, tc.args...)
		var ue *cli.UsageError
		if !errors.As(err, &ue) {
			t.Errorf("scan %s: %v, want a usage error", strings.Join(tc.args, " "), err)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("scan %s: %q, want it to mention %q", strings.Join(tc.args, " "), err, tc.want)
		}
		if code := cli.ExitCode(err, &bytes.Buffer{}); code != cli.ExitUsage {
			t.Errorf("scan %s: exit status %d, want %d", strings.Join(tc.args, " "), code, cli.ExitUsage)
		}
	}
}

// Without a connection string, a scan that would enroll stops at once and says where one comes
// from; a dry run needs none.
func TestScanNeedsCredentialsUnlessDryRun(t *testing.T) {
	t.Setenv(dpsflags.EnvConnectionString, "") // restored when the test ends
	os.Unsetenv(dpsflags.EnvConnectionString)
	dir := t.TempDir()
	_, _, err := runCmd(t, nil, scanCmd, "--images", dir, "--journal", dir+"/j.db")
	if err == nil || !strings.Contains(err.Error(), "DPS_CONNECTION_STRING") {
		t.Fatalf("scan without a connection string: %v, want it to name DPS_CONNECTION_STRING", err)
	}
	if _, err := os.Stat(dir + "/j.db"); err == nil {
		t.Error("a scan that could not reach DPS created a journal anyway")
	}
	_, _, err = runCmd(t, nil, scanCmd, "--images", dir, "--dry-run")
	if err == nil || !strings.Contains(err.Error(), "holds no .png") {
		t.Fatalf("dry run of an empty folder: %v, want the folder's own complaint (no credentials needed)", err)
	}
}

// What a technician reads: a line per device, with its running number, device ID and label;
// the foreign code skipped; the damaged and the altered ones refused, saying what to do; the device shown again
// known from the journal; and a summary. Each device is enrolled as its line says.
func TestScanTellsWhatItDid(t *testing.T) {
	emu := emulatortest.Start(t)
	devs := scantest.Labelled(t, "bay 12", "")
	frames := scantest.Frames(t, []scantest.Segment{
		{Text: scantest.Payload(t, devs[0], identity.FormatV1)},
		{Text: scantest.Foreign, Plain: true},
		{Text: scantest.Truncated(t, devs[1])},
		{Text: scantest.Payload(t, devs[1], identity.FormatV1)},
		{Text: scantest.Tampered(t, devs[1])},
		{},
		{Text: scantest.Payload(t, devs[0], identity.FormatV1)},
	}, 1)
	jpath := filepath.Join(t.TempDir(), "journal.db")
	stdout, stderr, err := runCmd(t, emu, scanCmd, "--images", frames, "--journal", jpath, "--device-id", "line4-{label}-{n:3}")
	if err != nil {
		t.Fatalf("scan: %v\n%s%s", err, stdout, stderr)
	}
	want := []string{
		"Enrolled #1 " + devs[0].RegistrationID + " as line4-bay-12-001 [bay 12].",
		`Skipped a code that is not a device identity: "` + scantest.Foreign + `"`,
		"Refused a damaged identity code; show the device's screen again: identity: malformed identity code",
		"Refused an altered identity code; check the device before enrolling it: identity: registration ID does not match",
		"Enrolled #2 " + devs[1].RegistrationID + " as line4-" + devs[1].RegistrationID + "-002.",
		"Already enrolled #1 " + devs[0].RegistrationID + " as line4-bay-12-001 [bay 12] (scanned before; nothing sent).",
	}
	// Devices are reported once enrolled, other codes as soon as they are read: the order of
	// lines between the two kinds follows the timing.
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != len(want) {
		t.Fatalf("scan printed %d lines, want %d:\n%s", len(lines), len(want), stdout)
	}
	for _, w := range want {
		n := 0
		for _, l := range lines {
			if strings.HasPrefix(l, w) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d lines begin %q, want one:\n%s", n, w, stdout)
		}
	}
	if !strings.Contains(stderr, "3 devices seen, 3 done, 0 failed, 0 still queued; 1 foreign and 2 invalid codes skipped.") {
		t.Errorf("summary:\n%s", stderr)
	}
	svc := emu.Client(t, dps.Options{})
	for i, id := range []string{"line4-bay-12-001", "line4-" + devs[1].RegistrationID + "-002"} {
		e, err := svc.GetEnrollment(context.Background(), devs[i].RegistrationID)
		if err != nil || e.DeviceID != id {
			t.Errorf("%s: %v, device ID %q; want %q", devs[i].RegistrationID, err, e.DeviceID, id)
		}
	}
}
