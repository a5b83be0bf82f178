package e2e

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oobtpm/oob/internal/emulatortest/emuproc"
)

// companion doctor, the built binary, against the dps-emulator process: all well exits 0 with
// one line per check; an emulator whose clock runs an hour ahead (--clock-offset) makes the
// clock check fail and the doctor exit 1, and its JSON says the same.
func TestCompanionDoctor(t *testing.T) {
	emu := startEmulator(t)
	// A journal of its own, not the user's.
	env := append([]string{"XDG_STATE_HOME=" + t.TempDir()}, emu.env...)
	out := runEnv(t, env, "companion", "doctor")
	for _, want := range []string{
		"✔ DPS connection string: from $DPS_CONNECTION_STRING: HostName localhost:",
		"✔ TLS to localhost:",
		"✔ Clock against DPS: this machine's clock agrees with DPS's",
		"✔ DPS accepts the key:",
		"✔ Journal: enrollments to send: no journal yet",
		"; nothing blocks onboarding\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor's output lacks %q:\n%s", want, out)
		}
	}

	dir := t.TempDir()
	emuproc.Start(t, filepath.Join(bin, "dps-emulator"), dir, "--clock-offset", "1h")
	code, stdout, stderr := exitCode(t, []string{"XDG_STATE_HOME=" + t.TempDir(), "DPS_CA_FILE=" + filepath.Join(dir, "ca.pem")},
		"companion", "doctor", "--connection-string-file", filepath.Join(dir, "service-connection-string"), "--format", "json")
	if code != 1 {
		t.Fatalf("an hour of skew: exit %d, want 1\n%s%s", code, stdout, stderr)
	}
	var rep struct {
		Blocked bool
		Checks  []struct{ Name, Status, Detail, Fix string }
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("%v: %s", err, stdout)
	}
	clock := false
	for _, c := range rep.Checks {
		if c.Name == "dps.clock" {
			clock = c.Status == "fail" && strings.Contains(c.Detail, "1h0m0s behind DPS") && strings.Contains(c.Fix, "timedatectl")
		}
	}
	if !rep.Blocked || !clock {
		t.Fatalf("the clock an hour off is not reported as failing:\n%s", stdout)
	}
}
