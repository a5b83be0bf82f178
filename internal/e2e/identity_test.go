package e2e

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oobtpm/oob/internal/qrtest"
	"github.com/oobtpm/oob/internal/swtpmtest"
)

type agentIdentity struct {
	RegistrationID string `json:"registrationId"`
	EndorsementKey string `json:"endorsementKey"`
	StorageRootKey string `json:"storageRootKey"`
	EKCertificate  string `json:"ekCertificate"`
	Payload        string `json:"payload"`
	QRVersion      int    `json:"qrVersion"`
}

func agentIdentityJSON(t *testing.T, spec string, extra ...string) agentIdentity {
	t.Helper()
	out := run(t, "oob-agent", append([]string{"identity", "--tpm", spec, "--format", "json"}, extra...)...)
	var id agentIdentity
	if err := json.Unmarshal([]byte(out), &id); err != nil {
		t.Fatalf("identity --format json is not JSON: %v\n%s", err, out)
	}
	return id
}

// The EK the agent reports is, byte for byte, what tpm2-tools reads at 0x81010001, and the
// registration ID is what an independent pipeline (openssl, base32) computes from it.
func TestIdentityMatchesTPM2Tools(t *testing.T) {
	readpublic := qrtest.Tool(t, "tpm2_readpublic", "tpm2-tools")
	qrtest.Tool(t, "openssl", "openssl")
	spec, tcti := swtpmtest.Start(t)

	id := agentIdentityJSON(t, spec)

	ekFile := filepath.Join(t.TempDir(), "ek.pub")
	cmd := exec.Command(readpublic, "-c", "0x81010001", "-o", ekFile)
	cmd.Env = append(os.Environ(), "TPM2TOOLS_TCTI="+tcti)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tpm2_readpublic: %v\n%s", err, out)
	}
	want, err := os.ReadFile(ekFile)
	if err != nil {
		t.Fatal(err)
	}
	if got := id.EndorsementKey; got != base64.StdEncoding.EncodeToString(want) {
		t.Fatalf("agent EK differs from tpm2_readpublic's:\nagent: %s\ntpm2:  %s", got, base64.StdEncoding.EncodeToString(want))
	}

	regid, err := exec.Command("sh", "-c",
		"openssl dgst -sha256 -binary "+ekFile+" | base32 -w0 | tr A-Z a-z | tr -d =").Output()
	if err != nil {
		t.Fatalf("independent registration ID: %v", err)
	}
	if got, want := id.RegistrationID, strings.TrimSpace(string(regid)); got != want {
		t.Fatalf("registration ID %q, independent computation %q", got, want)
	}
	if id.EKCertificate == "" {
		t.Fatal("swtpm was manufactured with an EK certificate but the agent reports none")
	}
	if id.StorageRootKey == "" {
		t.Fatal("no storage root key reported")
	}
	if id.QRVersion > 12 {
		t.Fatalf("default payload needs QR version %d at M; the goal is 12 or lower", id.QRVersion)
	}

	// The SRK the agent created is persisted: a second run reports the same one.
	if again := agentIdentityJSON(t, spec); again.StorageRootKey != id.StorageRootKey {
		t.Fatal("the storage root key changed between runs: it was not persisted")
	}
}

// CSV and text outputs carry the same identity as JSON.
func TestIdentityFormats(t *testing.T) {
	spec, _ := swtpmtest.Start(t)
	id := agentIdentityJSON(t, spec)

	csv := run(t, "oob-agent", "identity", "--tpm", spec, "--format", "csv")
	lines := strings.Split(strings.TrimSpace(csv), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "registrationId,endorsementKey") {
		t.Fatalf("csv output:\n%s", csv)
	}
	if !strings.HasPrefix(lines[1], id.RegistrationID+","+id.EndorsementKey+",") {
		t.Fatalf("csv row does not carry the identity:\n%s", lines[1])
	}

	text := run(t, "oob-agent", "identity", "--tpm", spec)
	for _, want := range []string{id.RegistrationID, id.EndorsementKey, "derived from the EK"} {
		if !strings.Contains(text, want) {
			t.Errorf("text output lacks %q:\n%s", want, text)
		}
	}
}

// A TPM that is not there gets an error that says what to do, not a stack trace.
func TestIdentityNoTPM(t *testing.T) {
	_, stderr, err := runCode(t, nil, "oob-agent", "identity", "--tpm", "tcp://127.0.0.1:1")
	if err == nil {
		t.Fatal("identity succeeded against a port where nothing listens")
	}
	if !strings.Contains(stderr, "swtpm") || strings.Contains(stderr, "goroutine") {
		t.Fatalf("unhelpful error for a missing software TPM:\n%s", stderr)
	}
}

// A restricted decryption key made in the endorsement hierarchy without fixedTPM and fixedParent
// (tpm2_createprimary -a 'sensitivedataorigin|userwithauth|restricted|decrypt', attributes
// 0x00030060) can be duplicated out of its TPM: the companion refuses it as an EK, and DPS (the
// emulator) is never asked.
func TestDuplicableKeyIsNoEndorsementKey(t *testing.T) {
	createprimary := qrtest.Tool(t, "tpm2_createprimary", "tpm2-tools")
	readpublic := qrtest.Tool(t, "tpm2_readpublic", "tpm2-tools")
	_, tcti := swtpmtest.Start(t)
	dir := t.TempDir()
	env := append(os.Environ(), "TPM2TOOLS_TCTI="+tcti)
	for _, args := range [][]string{
		{createprimary, "-C", "e", "-G", "rsa2048", "-a", "sensitivedataorigin|userwithauth|restricted|decrypt", "-c", filepath.Join(dir, "key.ctx")},
		{readpublic, "-c", filepath.Join(dir, "key.ctx"), "-o", filepath.Join(dir, "key.pub")},
	} {
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", filepath.Base(args[0]), err, out)
		}
	}
	pub, err := os.ReadFile(filepath.Join(dir, "key.pub"))
	if err != nil {
		t.Fatal(err)
	}
	emu := startEmulator(t)
	code, _, stderr := exitCode(t, emu.env, "companion", "enroll", "--registration-id", "dup-key", "--endorsement-key", base64.StdEncoding.EncodeToString(pub))
	if code != 1 || !strings.Contains(stderr, "can leave its TPM") || !strings.Contains(stderr, "0x00030060") {
		t.Fatalf("exit %d, stderr:\n%s\nwant exit 1 saying the key can leave its TPM (attributes 0x00030060)", code, stderr)
	}
	if out := runEnv(t, emu.env, "companion", "enrollment", "list", "--format", "json"); out != "" {
		t.Fatalf("the duplicable key was enrolled:\n%s", out)
	}
}
