package ekcert_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/swtpmtest"
	"github.com/oobtpm/oob/pkg/ekcert"
	"github.com/oobtpm/oob/pkg/tpm"
)

func TestMain(m *testing.M) {
	code := m.Run()
	swtpmtest.Cleanup()
	os.Exit(code)
}

// swtpmBundle is a trust-bundle folder with swtpm_localca's root and, when withIssuer, the
// intermediate that signed the EK certificates.
func swtpmBundle(t *testing.T, withIssuer bool) *ekcert.Bundle {
	t.Helper()
	dir := swtpmtest.TPMRoots(t, withIssuer)
	b, err := ekcert.LoadBundle(dir)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The RSA EK certificate swtpm_setup --create-ek-cert put in NV, read by pkg/tpm as the agent
// reads it.
func TestSwtpmRSA(t *testing.T) {
	spec, _ := swtpmtest.Start(t)
	ctx := context.Background()
	dev, err := tpm.Open(ctx, tpm.Config{Path: spec})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	id, err := dev.Identity(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ekcert.Parse(id.EKCertificate)
	if err != nil {
		t.Fatal(err)
	}
	if c.TPM.Manufacturer != "id:00001014" || c.TPM.Model != "swtpm" || c.TPM.ManufacturerName() != "IBM (swtpm)" {
		t.Errorf("TPM %+v", c.TPM)
	}
	if err := c.MatchEK(id.EndorsementKey); err != nil {
		t.Errorf("MatchEK: %v", err)
	}
	if err := c.MatchEK(id.StorageRootKey); !errors.Is(err, ekcert.ErrKeyMismatch) {
		t.Errorf("MatchEK of the SRK: %v", err)
	}
	chain, err := swtpmBundle(t, true).Verify(c, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if got := chain[len(chain)-1].Subject.CommonName; got != "swtpm-localca-rootca" || len(chain) != 3 {
		t.Errorf("chain of %d to %q", len(chain), got)
	}
	_, err = swtpmBundle(t, false).Verify(c, time.Time{})
	var missing *ekcert.MissingIssuerError
	if !errors.As(err, &missing) || missing.Issuer != "CN=swtpm-localca" {
		t.Errorf("Verify without swtpm_localca's intermediate: %v", err)
	}
}

// The ECC (P-384) EK and its certificate, read with tpm2-tools as an operator would.
func TestSwtpmECC(t *testing.T) {
	_, tcti := swtpmtest.Start(t)
	nvread := swtpmtest.Tool(t, "tpm2_nvread", "tpm2-tools")
	readpublic := swtpmtest.Tool(t, "tpm2_readpublic", "tpm2-tools")
	dir := t.TempDir()
	run := func(name string, args ...string) {
		cmd := exec.Command(name, args...)
		cmd.Env = append(os.Environ(), "TPM2TOOLS_TCTI="+tcti)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
		}
	}
	run(nvread, "0x01c00016", "-o", filepath.Join(dir, "ek.nv"))
	run(readpublic, "-c", "0x81010016", "-o", filepath.Join(dir, "ek.pub"))
	nv, _ := os.ReadFile(filepath.Join(dir, "ek.nv"))
	pub, _ := os.ReadFile(filepath.Join(dir, "ek.pub"))
	c, err := ekcert.Parse(nv)
	if err != nil {
		t.Fatal(err)
	}
	if c.X509.PublicKeyAlgorithm.String() != "ECDSA" {
		t.Errorf("key %v", c.X509.PublicKeyAlgorithm)
	}
	if err := c.MatchEK(pub); err != nil {
		t.Errorf("MatchEK: %v", err)
	}
	if _, err := swtpmBundle(t, true).Verify(c, time.Time{}); err != nil {
		t.Fatal(err)
	}
}
