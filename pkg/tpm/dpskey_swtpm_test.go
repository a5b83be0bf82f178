package tpm

import (
	"context"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oobtpm/oob/internal/swtpmtest"
	"github.com/oobtpm/oob/pkg/identity"
)

// openSwtpm opens a fresh swtpm, kept open for the whole test since swtpm serves one connection
// at a time, and reads its identity (which creates the SRK).
func openSwtpm(t testing.TB) (*TPM, identity.Identity) {
	t.Helper()
	spec, _ := swtpmtest.Start(t)
	dev, err := Open(ctxT(t), Config{Path: spec})
	if err != nil {
		t.Fatalf("Open(%s): %v", spec, err)
	}
	t.Cleanup(func() { _ = dev.Close() })
	id, err := dev.Identity(ctxT(t))
	if err != nil {
		t.Fatalf("Identity: %v", err)
	}
	return dev, id
}

func TestSwtpmDPSKey(t *testing.T) {
	dev, _ := openSwtpm(t)
	testDPSKey(t, dev)
}

// BenchmarkImportDPSKeySwtpm measures what a device does with each authenticationKey DPS sends:
// activate the credential, import, load, replace the persisted key.
func BenchmarkImportDPSKeySwtpm(b *testing.B) {
	dev, id := openSwtpm(b)
	blob := buildBlob(b, id.EndorsementKey, id.StorageRootKey, newHMACKey(b))
	for b.Loop() {
		if err := dev.ImportDPSKey(context.Background(), blob); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignHMACSwtpm measures signing one SAS token with the imported key.
func BenchmarkSignHMACSwtpm(b *testing.B) {
	dev, id := openSwtpm(b)
	ctx := context.Background()
	if err := dev.ImportDPSKey(ctx, buildBlob(b, id.EndorsementKey, id.StorageRootKey, newHMACKey(b))); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := dev.SignHMAC(ctx, signData["sas"]); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSwtpmDPSKeyUsableByTpm2Tools checks that the imported key is where other TPM software looks
// for it, and that tpm2-tools signs with it what crypto/hmac computes, long data included.
func TestSwtpmDPSKeyUsableByTpm2Tools(t *testing.T) {
	spec, tcti := swtpmtest.Start(t)
	dev, err := Open(ctxT(t), Config{Path: spec})
	if err != nil {
		t.Fatal(err)
	}
	id, err := dev.Identity(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	key := newHMACKey(t)
	err = dev.ImportDPSKey(ctxT(t), buildBlob(t, id.EndorsementKey, id.StorageRootKey, key))
	_ = dev.Close() // swtpm serves one client: tpm2-tools' turn
	if err != nil {
		t.Fatal(err)
	}
	if got := string(tool(t, tcti, "tpm2_readpublic", "tpm2-tools", "-c", "0x81000100")); !strings.Contains(got, "keyedhash") ||
		!strings.Contains(got, "raw: 0x40440") {
		t.Errorf("tpm2_readpublic 0x81000100 does not show the keyed-hash key with attributes 0x40440:\n%s", got)
	}
	for _, name := range []string{"sas", "3000 bytes"} {
		file := filepath.Join(t.TempDir(), "data")
		if err := os.WriteFile(file, signData[name], 0o600); err != nil {
			t.Fatal(err)
		}
		got := strings.TrimSpace(string(tool(t, tcti, "tpm2_hmac", "tpm2-tools", "-c", "0x81000100", "-g", "sha256", "--hex", file)))
		if want := hex.EncodeToString(hmacSHA256(key, signData[name])); got != want {
			t.Errorf("tpm2_hmac over %s = %s, want %s", name, got, want)
		}
	}
}
