package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/oobtpm/oob/internal/swtpmtest"
)

// registerOutput is the JSON of `oob-agent register --format json`.
type registerOutput struct {
	Status         string `json:"status"`
	RegistrationID string `json:"registrationId"`
	AssignedHub    string `json:"assignedHub"`
	DeviceID       string `json:"deviceId"`
	Substatus      string `json:"substatus"`
	HubConnected   bool   `json:"hubConnected"`
	Attestation    string `json:"attestation"`
}

// The whole onboarding with the real programs: the agent's screen is scanned and enrolled by the
// companion; the agent registers by TPM attestation (swtpm) with the emulated DPS, and connects
// to the emulated hub with the key DPS sealed to its TPM. Before enrollment it is told it is not
// enrolled (status 3); while the enrollment is disabled, that it is disabled (status 5).
func TestRegisterWithTPM(t *testing.T) {
	spec, _ := swtpmtest.Start(t)
	emu := startEmulator(t)
	id := agentIdentityJSON(t, spec)
	scope, err := os.ReadFile(filepath.Join(emu.dir, "id-scope"))
	if err != nil {
		t.Fatal(err)
	}
	register := []string{"register", "--tpm", spec, "--id-scope", strings.TrimSpace(string(scope)),
		"--endpoint", emu.addr, "--ca-file", filepath.Join(emu.dir, "ca.pem"), "--hub-address", emu.hub, "--format", "json"}

	code, _, stderr := exitCode(t, nil, "oob-agent", register...)
	if code != 3 || !strings.Contains(stderr, "not enrolled") || !strings.Contains(stderr, id.RegistrationID) {
		t.Fatalf("registering before enrollment: exit %d, want 3\n%s", code, stderr)
	}

	png := filepath.Join(t.TempDir(), "screen.png")
	run(t, "oob-agent", "show", "--tpm", spec, "--output", "png", "--file", png)
	runEnv(t, emu.env, "companion", "enroll", "--image", png, "--disabled")
	code, stdout, stderr := exitCode(t, nil, "oob-agent", register...)
	if code != 5 || !strings.Contains(stderr, "enrollment enable") {
		t.Fatalf("registering while disabled: exit %d, want 5\n%s%s", code, stdout, stderr)
	}

	runEnv(t, emu.env, "companion", "enrollment", "enable", id.RegistrationID)
	out := run(t, "oob-agent", register...)
	var res registerOutput
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("register --format json: %v\n%s", err, out)
	}
	if res.Status != "assigned" || res.RegistrationID != id.RegistrationID || res.DeviceID != id.RegistrationID ||
		res.AssignedHub != "localhost" || res.Attestation != "tpm" {
		t.Fatalf("register: %+v", res)
	}
	if !res.HubConnected {
		t.Fatal("assigned, but the hub connection is not reported")
	}

	// DPS's record, read by the technician's tool, agrees.
	var state struct {
		Status      string `json:"status"`
		AssignedHub string `json:"assignedHub"`
		DeviceID    string `json:"deviceId"`
	}
	if err := json.Unmarshal([]byte(runEnv(t, emu.env, "companion", "registration", "show", id.RegistrationID, "--format", "json")), &state); err != nil {
		t.Fatal(err)
	}
	if state.Status != "assigned" || state.AssignedHub != "localhost" || state.DeviceID != id.RegistrationID {
		t.Errorf("registration state %+v", state)
	}

	// With --no-hub it stops at DPS's decision: without --hub-address, a connection would go to
	// the hub's own port (localhost:8883), where this test's emulator does not listen.
	noHub := append(slices.Clone(register[:len(register)-4]), "--format", "json", "--no-hub")
	if err := json.Unmarshal([]byte(run(t, "oob-agent", noHub...)), &res); err != nil || res.Status != "assigned" || res.HubConnected {
		t.Fatalf("registering with --no-hub: %+v %v", res, err)
	}

	// Registering again (a restarted device) works with the key the TPM now holds.
	if err := json.Unmarshal([]byte(run(t, "oob-agent", register...)), &res); err != nil || res.Status != "assigned" || !res.HubConnected {
		t.Fatalf("registering again: %+v %v", res, err)
	}
}
