package e2e

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// agentDoctorJSON is `oob-agent doctor --format json`'s output.
type agentDoctorJSON struct {
	Blocked bool `json:"blocked"`
	Checks  []struct {
		Name, Status, Detail, Fix string
	} `json:"checks"`
}

// The built agent's doctor on a device as an image leaves it (swtpm, the emulator, an offline
// root): nothing blocks onboarding and it exits 0; with the workload's unit gone from the image
// it says so and exits 1.
func TestAgentDoctor(t *testing.T) {
	emu := startEmulator(t)
	d := newDevice(t, emu)

	out, stderr, err := runCode(t, nil, "oob-agent", "doctor", "--config", d.config, "--format", "json")
	var rep agentDoctorJSON
	if err != nil || json.Unmarshal([]byte(out), &rep) != nil || rep.Blocked {
		t.Fatalf("healthy device: %v\n%s\n%s", err, out, stderr)
	}
	seen := map[string]string{}
	for _, c := range rep.Checks {
		seen[c.Name] = c.Status
	}
	for _, name := range []string{"config", "tpm", "tpm.ek", "tpm.ekcert", "tpm.srk", "tpm.dpskey", "state", "finalize", "dps.dns", "dps.tls", "dps.clock"} {
		if seen[name] != "ok" {
			t.Errorf("%s: %q in %s", name, seen[name], out)
		}
	}

	if err := os.Remove(filepath.Join(d.root, "etc", "systemd", "system", "kiosk.service")); err != nil {
		t.Fatal(err)
	}
	text, _, err := runCode(t, nil, "oob-agent", "doctor", "--config", d.config)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("without the workload's unit: %v\n%s", err, text)
	}
	if !strings.Contains(text, "✘ Workload units: finalize: cannot check kiosk.service: no such unit file") ||
		!strings.Contains(text, "onboarding is blocked") {
		t.Errorf("text:\n%s", text)
	}
}
