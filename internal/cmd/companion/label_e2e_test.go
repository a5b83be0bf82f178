package companion

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/internal/cmd/agent"
	"github.com/oobtpm/oob/internal/emulatortest"
	"github.com/oobtpm/oob/internal/swtpmtest"
	"github.com/oobtpm/oob/pkg/dps"
)

// The factory's flow end to end: a device's agent (on a real swtpm) prints its identity line,
// the line is labelled, and scanning the box label later enrolls that device, its TPM's EK,
// in DPS (the emulator, over TLS).
func TestLabelScanEnrollsTheDevice(t *testing.T) {
	spec, _ := swtpmtest.Start(t)
	var agentOut, agentErr bytes.Buffer
	identityCmd := agent.NewCmdIdentity(cli.Test(strings.NewReader(""), &agentOut, &agentErr), nil)
	identityCmd.SetArgs([]string{"--tpm", spec, "--format", "json"})
	if err := identityCmd.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("oob-agent identity: %v: %s", err, agentErr.String())
	}
	var dev struct {
		RegistrationID string `json:"registrationId"`
		EndorsementKey string `json:"endorsementKey"`
	}
	if err := json.Unmarshal(agentOut.Bytes(), &dev); err != nil {
		t.Fatalf("oob-agent identity printed %q", agentOut.String())
	}
	dir := filepath.Join(t.TempDir(), "labels")
	if _, stderr, err := runCmd(t, nil, labelCmd, "--from", writeFile(t, "line4.jsonl", agentOut.String()), "--format", "png", "--output", dir); err != nil {
		t.Fatalf("label: %v\n%s", err, stderr)
	}
	emu := emulatortest.Start(t)
	stdout, stderr, err := runCmd(t, emu, scanCmd, "--images", dir, "--journal", filepath.Join(t.TempDir(), "j.db"), "--once")
	if err != nil || !strings.HasPrefix(stdout, "Enrolled #1 "+dev.RegistrationID) {
		t.Fatalf("scan: %v\n%s%s", err, stdout, stderr)
	}
	e, err := emu.Client(t, dps.Options{}).GetEnrollment(context.Background(), dev.RegistrationID)
	if err != nil || e.Attestation == nil || e.Attestation.TPM == nil || e.Attestation.TPM.EndorsementKey != dev.EndorsementKey {
		t.Errorf("DPS holds %+v, %v; want the TPM's EK", e, err)
	}
}
