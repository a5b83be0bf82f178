package mssim

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oobtpm/oob/internal/nodetest"
	"github.com/oobtpm/oob/pkg/identity"
)

// nodeKeys runs scripts/nodedevice/device.js --ek-only against the front-end's TPM port and returns
// the EK and SRK Microsoft's TpmSecurityClient reported, and the registration ID it derived.
func nodeKeys(t *testing.T, dir, tpmAddr string) (ek, srk []byte, registrationID string) {
	t.Helper()
	host, port, err := net.SplitHostPort(tpmAddr)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", "device.js", "--ek-only", "--tpm-host", host, "--tpm-port", port)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node device.js: %v\n%s%s", err, out, stderr.Bytes())
	}
	var keys struct {
		RegistrationID string `json:"registrationId"`
		EndorsementKey string `json:"endorsementKey"`
		StorageRootKey string `json:"storageRootKey"`
	}
	if err := json.Unmarshal(out, &keys); err != nil {
		t.Fatalf("node device.js printed %q: %v", out, err)
	}
	if ek, err = base64.StdEncoding.DecodeString(keys.EndorsementKey); err != nil {
		t.Fatalf("endorsementKey %q: %v", keys.EndorsementKey, err)
	}
	if srk, err = base64.StdEncoding.DecodeString(keys.StorageRootKey); err != nil {
		t.Fatalf("storageRootKey %q: %v", keys.StorageRootKey, err)
	}
	return ek, srk, keys.RegistrationID
}

// TestNodeSDKReadsTheAgentsKeys: Microsoft's Node device SDK (azure-iot-security-tpm on tss.js),
// through the front-end, reports the EK and SRK the agent reads, byte for byte, and derives the
// same registration ID: what it would send DPS is what our device sends.
//
// The agent reads first, as on a device: swtpm_setup persisted an EK at 0x81010001 but no SRK, so
// the agent creates the SRK at 0x81000001 with its template (TCG, 256 zero bytes of unique) and
// the SDK reads it there. Read first, the SDK would create it with its own template (empty
// unique), a different key, which the agent would then read as it is: the second half checks
// that.
func TestNodeSDKReadsTheAgentsKeys(t *testing.T) {
	dir, err := filepath.Abs(filepath.Join("..", "..", "scripts", "nodedevice"))
	if err != nil {
		t.Fatal(err)
	}
	nodetest.Install(t, dir)

	spec, backend := startSwtpm(t)
	ek, srk := agentKeys(t, spec)
	s := serve(t, backend)
	for range 2 { // the second run is a new client of the same front-end
		nodeEK, nodeSRK, regID := nodeKeys(t, dir, s.tpm)
		if !bytes.Equal(nodeEK, ek) {
			t.Fatalf("the Node SDK's EK:\n%x\nthe agent's:\n%x", nodeEK, ek)
		}
		if !bytes.Equal(nodeSRK, srk) {
			t.Fatalf("the Node SDK's SRK:\n%x\nthe agent's:\n%x", nodeSRK, srk)
		}
		if want := identity.DeriveRegistrationID(ek); regID != want {
			t.Fatalf("the Node SDK derived registration ID %q, the agent %q", regID, want)
		}
	}
	if logs := s.logs(t); strings.Contains(logs, "level=WARN") || strings.Contains(logs, "level=ERROR") {
		t.Errorf("the front-end complained about tss.js:\n%s", logs)
	}

	// The same manufactured TPM (same seeds), the SDK first this time.
	spec, backend = startSwtpm(t)
	s = serve(t, backend)
	nodeEK, nodeSRK, _ := nodeKeys(t, dir, s.tpm)
	agentEK, agentSRK := agentKeys(t, spec)
	if !bytes.Equal(agentEK, nodeEK) || !bytes.Equal(agentSRK, nodeSRK) {
		t.Fatalf("after the Node SDK, the agent read other keys:\nEK %x\nvs %x\nSRK %x\nvs %x", agentEK, nodeEK, agentSRK, nodeSRK)
	}
	if !bytes.Equal(nodeEK, ek) {
		t.Errorf("the EK swtpm_setup persisted differs between copies of one TPM state")
	}
	if bytes.Equal(nodeSRK, srk) {
		t.Errorf("the SRK the Node SDK created is the one the agent's template gives: the templates " +
			"are now alike, and which program reads a fresh TPM first no longer matters")
	}
}
