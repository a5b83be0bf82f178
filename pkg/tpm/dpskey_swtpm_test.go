package tpm

import (
	"context"
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
