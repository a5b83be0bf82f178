package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/emulatortest"
	"github.com/oobtpm/oob/internal/swtpmtest"
	"github.com/oobtpm/oob/pkg/dps"
	"github.com/oobtpm/oob/pkg/dpsapi"
)

// TestAgentCertifiesWithItsTPMKey runs `oob-agent certify` on swtpm against `oob-factory serve`:
// the board's key is made in the TPM, the factory's chain lands in the state directory, openssl
// verifies it against the factory's root, tpm2-tools reads the same public key at 0x81000101,
// the factory pre-enrolls the board in DPS disabled with that certificate, and a second run
// changes nothing.
func TestAgentCertifiesWithItsTPMKey(t *testing.T) {
	const guid = "5d2f6a10-7b3c-4e8d-9f01-23456789abcd"
	openssl := swtpmtest.Tool(t, "openssl", "openssl")
	emu := emulatortest.Start(t)
	data := t.TempDir()
	run(t, "oob-factory", "ca", "init", "--data", data)
	tokenFile := filepath.Join(t.TempDir(), "line7.token")
	run(t, "oob-factory", "station", "add", "line7", "--data", data, "--token-file", tokenFile)
	f := startFactory(t, data, emu)

	spec, tcti := swtpmtest.Start(t)
	board := t.TempDir()
	dmi := filepath.Join(board, "product_uuid")
	if err := os.WriteFile(dmi, []byte(strings.ToUpper(guid)+"\n"), 0o444); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(board, "state")
	certify := func() map[string]any {
		out := run(t, "oob-agent", "certify", "--factory", f.url, "--ca-file", filepath.Join(data, "ca-root.pem"),
			"--token-file", tokenFile, "--tpm", spec, "--hardware-id-file", dmi, "--state-dir", state, "--format", "json")
		var got map[string]any
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("certify's output is not JSON: %v\n%s", err, out)
		}
		return got
	}
	first := certify()
	if first["key"] != "tpm" || first["keyHandle"] != "0x81000101" || first["hardwareId"] != guid || first["keyCreated"] != true {
		t.Fatalf("first run: %v", first)
	}
	chain := first["chainFile"].(string)
	if chain != filepath.Join(state, "device-chain.pem") {
		t.Errorf("chain stored in %s", chain)
	}

	// openssl: the chain verifies up to the factory's root, for client authentication.
	leaf := filepath.Join(t.TempDir(), "leaf.pem")
	splitLeaf(t, chain, leaf)
	if out, err := exec.Command(openssl, "verify", "-CAfile", filepath.Join(data, "ca-root.pem"), "-untrusted", chain,
		"-purpose", "sslclient", leaf).CombinedOutput(); err != nil {
		t.Fatalf("openssl verify: %v\n%s", err, out)
	}
	// tpm2-tools: the key at 0x81000101 is the certificate's.
	tpmPub := filepath.Join(t.TempDir(), "tpm.pem")
	readpublic := exec.Command(swtpmtest.Tool(t, "tpm2_readpublic", "tpm2-tools"), "-c", "0x81000101", "-f", "pem", "-o", tpmPub)
	readpublic.Env = append(os.Environ(), "TPM2TOOLS_TCTI="+tcti)
	if out, err := readpublic.CombinedOutput(); err != nil {
		t.Fatalf("tpm2_readpublic: %v\n%s", err, out)
	}
	certPub, err := exec.Command(openssl, "x509", "-in", leaf, "-noout", "-pubkey").Output()
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := os.ReadFile(tpmPub); strings.TrimSpace(string(want)) != strings.TrimSpace(string(certPub)) {
		t.Errorf("the certificate's key is not the TPM's:\ncertificate:\n%s\nTPM:\n%s", certPub, want)
	}

	// The factory pre-enrolls the board, disabled, with that certificate.
	svc := emu.Client(t, dps.Options{})
	var e *dpsapi.IndividualEnrollment
	waitFor(t, "the board's enrollment", 60*time.Second, func() bool {
		e, err = svc.GetEnrollment(context.Background(), guid)
		return err == nil
	})
	if info := enrolledInfo(t, e); e.ProvisioningStatus != dpsapi.StatusDisabled || !strings.EqualFold(info.SerialNumber, first["serial"].(string)) {
		t.Errorf("enrollment %s with certificate %s; want disabled with %s", e.ProvisioningStatus, info.SerialNumber, first["serial"])
	}

	again := certify()
	if again["keyCreated"] != false || again["unchanged"] != true || again["serial"] != first["serial"] {
		t.Errorf("second run: %v; want the same key and certificate, unchanged", again)
	}
}

// splitLeaf writes the first certificate of the PEM chain file to leaf.
func splitLeaf(t *testing.T, chain, leaf string) {
	t.Helper()
	b, err := os.ReadFile(chain)
	if err != nil {
		t.Fatal(err)
	}
	const end = "-----END CERTIFICATE-----\n"
	i := strings.Index(string(b), end)
	if i < 0 {
		t.Fatalf("%s holds no PEM certificate", chain)
	}
	if err := os.WriteFile(leaf, b[:i+len(end)], 0o644); err != nil {
		t.Fatal(err)
	}
}
