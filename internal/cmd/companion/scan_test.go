package companion

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/oobtpm/oob/internal/cli"
)

func scanCmd(ios *cli.IOStreams) command {
	c := NewCmdScan(ios, nil)
	c.SilenceErrors, c.SilenceUsage = true, true
	return c
}

// Command-line mistakes are usage errors (exit status 2) that say what to give instead, found
// before any camera, journal or DPS is touched.
func TestScanUsageErrors(t *testing.T) {
	t.Setenv(envConnectionString, "")
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
	t.Setenv(envConnectionString, "") // restored when the test ends
	os.Unsetenv(envConnectionString)
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
