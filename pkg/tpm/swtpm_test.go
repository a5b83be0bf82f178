package tpm

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/swtpmtest"
	"github.com/oobtpm/oob/pkg/identity"
)

// These tests run against swtpm, manufactured by swtpm_setup as a TPM vendor would, and compare
// what we read with what tpm2-tools and openssl, independent implementations, read and compute.

// tool runs an external program with the TPM's TCTI and returns its standard output.
func tool(t *testing.T, tcti, name, pkg string, args ...string) []byte {
	t.Helper()
	path := swtpmtest.Tool(t, name, pkg)
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), "TPM2TOOLS_TCTI="+tcti)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// swtpmIdentity opens the swtpm at spec, reads the identity and closes it again: swtpm serves one
// connection at a time, and the tools that check our answer need their turn.
func swtpmIdentity(t *testing.T, spec string) identity.Identity {
	t.Helper()
	ctx := ctxT(t)
	dev, err := Open(ctx, Config{Path: spec})
	if err != nil {
		t.Fatalf("Open(%s): %v", spec, err)
	}
	defer dev.Close()
	id, err := dev.Identity(ctx)
	if err != nil {
		t.Fatalf("Identity: %v", err)
	}
	return id
}

func TestSwtpmEKMatchesTpm2Tools(t *testing.T) {
	spec, tcti := swtpmtest.Start(t)
	id := swtpmIdentity(t, spec)

	file := filepath.Join(t.TempDir(), "ek.pub")
	tool(t, tcti, "tpm2_readpublic", "tpm2-tools", "-c", "0x81010001", "-o", file)
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(id.EndorsementKey, want) {
		t.Fatalf("EK differs from tpm2_readpublic's:\n got % x\nwant % x", id.EndorsementKey, want)
	}
	if len(want) != 316 {
		t.Errorf("EK of %d bytes, want 316", len(want))
	}

	// The registration ID as a shell would compute it from tpm2-tools' file.
	swtpmtest.Tool(t, "openssl", "openssl")
	swtpmtest.Tool(t, "base32", "coreutils")
	out, err := exec.Command("sh", "-c",
		`openssl dgst -sha256 -binary "$1" | base32 | tr A-Z a-z | tr -d '=\n'`, "sh", file).Output()
	if err != nil {
		t.Fatal(err)
	}
	if id.RegistrationID != string(out) {
		t.Errorf("registration ID %q, shell computes %q", id.RegistrationID, out)
	}
}

func TestSwtpmEKCertificateMatchesTpm2Tools(t *testing.T) {
	spec, tcti := swtpmtest.Start(t)
	id := swtpmIdentity(t, spec)

	want := tool(t, tcti, "tpm2_nvread", "tpm2-tools", "0x01c00002")
	if len(want) == 0 || !bytes.Equal(id.EKCertificate, want) {
		t.Fatalf("EK certificate of %d bytes differs from tpm2_nvread's %d bytes", len(id.EKCertificate), len(want))
	}
	cert, err := x509.ParseCertificate(id.EKCertificate)
	if err != nil {
		t.Fatalf("EK certificate does not parse: %v", err)
	}
	key, ok := cert.PublicKey.(*rsa.PublicKey)
	n, err := ekModulus(id.EndorsementKey)
	if err != nil {
		t.Fatal(err)
	}
	if !ok || key.N.Cmp(n) != 0 {
		t.Fatalf("EK certificate's public key is not the EK")
	}
	block, _ := pem.Decode(swtpmtest.IssuerCert(t))
	issuer, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if err := cert.CheckSignatureFrom(issuer); err != nil {
		t.Errorf("EK certificate is not signed by the TPM vendor's CA: %v", err)
	}
}

func TestSwtpmSRKCreatedAndVisibleToTpm2Tools(t *testing.T) {
	spec, tcti := swtpmtest.Start(t)
	if strings.Contains(string(tool(t, tcti, "tpm2_getcap", "tpm2-tools", "handles-persistent")), "0x81000001") {
		t.Fatal("a fresh swtpm already has an SRK; this test would prove nothing")
	}
	id := swtpmIdentity(t, spec)

	if got := string(tool(t, tcti, "tpm2_getcap", "tpm2-tools", "handles-persistent")); !strings.Contains(got, "0x81000001") {
		t.Fatalf("tpm2_getcap handles-persistent does not list the SRK:\n%s", got)
	}
	file := filepath.Join(t.TempDir(), "srk.pub")
	tool(t, tcti, "tpm2_readpublic", "tpm2-tools", "-c", "0x81000001", "-o", file)
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(id.StorageRootKey, want) {
		t.Errorf("SRK differs from tpm2_readpublic's")
	}
	// A second run reads the same SRK rather than making another.
	if again := swtpmIdentity(t, spec); !bytes.Equal(again.StorageRootKey, id.StorageRootKey) {
		t.Errorf("SRK changed between runs")
	}
}

// TestSwtpmBusy checks the message when swtpm is serving another client: it answers nobody else
// until that client disconnects.
func TestSwtpmBusy(t *testing.T) {
	spec, _ := swtpmtest.Start(t)
	first, err := Open(ctxT(t), Config{Path: spec})
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = Open(ctx, Config{Path: spec})
	if !errors.Is(err, ErrNotAnswering) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want ErrNotAnswering caused by the deadline", err)
	}
	if !strings.Contains(err.Error(), "no other client") {
		t.Errorf("message %q does not mention another client", err)
	}
}

// BenchmarkIdentitySwtpm measures what the agent does at every boot once the keys exist: open
// the TPM over TCP, read EK, SRK and EK certificate, close.
func BenchmarkIdentitySwtpm(b *testing.B) {
	spec, _ := swtpmtest.Start(b)
	ctx := context.Background()
	read := func() identity.Identity {
		dev, err := Open(ctx, Config{Path: spec})
		if err != nil {
			b.Fatal(err)
		}
		defer dev.Close()
		id, err := dev.Identity(ctx)
		if err != nil {
			b.Fatal(err)
		}
		return id
	}
	read() // creates and persists the SRK
	b.ResetTimer()
	for b.Loop() {
		read()
	}
}

// TestSwtpmRecreatedEKMatchesCertificate removes the EK swtpm_setup persisted, lets us recreate
// it, and checks it is the same key, the one the manufacturer's certificate was issued for:
// that is why the template's unique field is 256 zero bytes (TCG L-1), not empty.
func TestSwtpmRecreatedEKMatchesCertificate(t *testing.T) {
	spec, tcti := swtpmtest.Start(t)
	before := swtpmIdentity(t, spec)
	tool(t, tcti, "tpm2_evictcontrol", "tpm2-tools", "-C", "o", "-c", "0x81010001")
	if strings.Contains(string(tool(t, tcti, "tpm2_getcap", "tpm2-tools", "handles-persistent")), "0x81010001") {
		t.Fatal("EK still persisted after tpm2_evictcontrol")
	}
	after := swtpmIdentity(t, spec)
	if !bytes.Equal(after.EndorsementKey, before.EndorsementKey) {
		t.Fatalf("recreated EK differs from the manufacturer's")
	}
	if after.RegistrationID != before.RegistrationID {
		t.Errorf("registration ID changed from %s to %s", before.RegistrationID, after.RegistrationID)
	}
}
