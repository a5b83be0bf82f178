package tpm

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"github.com/google/go-tpm/tpm2"
)

// Golden files, read from swtpm by tpm2-tools: `tpm2_readpublic -c 0x81010001 -o` (and
// 0x81010016 for the ECC EK) and `tpm2_nvread 0x01c00002`.
const (
	goldenRSAEK = "testdata/swtpm-ek-rsa.pub"
	goldenECCEK = "testdata/swtpm-ek-ecc.pub"
)

func golden(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParsePublicGolden(t *testing.T) {
	rsaEK, err := parsePublic(golden(t, goldenRSAEK))
	if err != nil {
		t.Fatalf("RSA EK: %v", err)
	}
	if p := storageKeyProblem(rsaEK); p != "" {
		t.Errorf("RSA EK judged %q", p)
	}
	eccEK, err := parsePublic(golden(t, goldenECCEK))
	if err != nil {
		t.Fatalf("ECC EK: %v", err)
	}
	// swtpm's ECC EK is the TCG high-range P-384 one.
	if p := storageKeyProblem(eccEK); p != "an ECC key (NIST P-384)" {
		t.Errorf("ECC EK judged %q", p)
	}
}

func TestParsePublicRejects(t *testing.T) {
	ek := golden(t, goldenRSAEK)
	for name, b := range map[string][]byte{
		"empty":           nil,
		"no size prefix":  ek[2:],
		"size too big":    append([]byte{0x01, 0x3B}, ek[2:]...),
		"trailing byte":   append(append([]byte{0x01, 0x3B}, ek[2:]...), 0),
		"truncated":       append([]byte{0x01, 0x39}, ek[2:len(ek)-1]...),
		"unknown type":    append([]byte{0x00, 0x04}, 0x12, 0x34, 0x00, 0x0B),
		"raw TPMT_PUBLIC": ek[2:],
	} {
		if _, err := parsePublic(b); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}

func FuzzParsePublic(f *testing.F) {
	f.Add(golden(f, goldenRSAEK))
	f.Add(golden(f, goldenECCEK))
	f.Add(tpm2.Marshal(tpm2.New2B(srkTemplate())))
	f.Add(tpm2.Marshal(tpm2.New2B(tpm2.ECCSRKTemplate)))
	f.Fuzz(func(t *testing.T, b []byte) {
		pub, err := parsePublic(b)
		if err != nil {
			return
		}
		if !bytes.Equal(tpm2.Marshal(pub), b[2:]) {
			t.Fatalf("parsed public area does not marshal back to its bytes")
		}
		_ = storageKeyProblem(pub)
	})
}

// FuzzTPMResponses answers every command after the opening one with the fuzzer's bytes and asks
// for the whole identity: whatever a broken or hostile TPM says must end in an error or in keys
// that pass our checks, never in a panic.
func FuzzTPMResponses(f *testing.F) {
	ek := golden(f, goldenRSAEK)
	readPublic := func(pub []byte) []byte {
		body := append([]byte{}, pub...)
		body = append(body, 0, 34, 0, 0x0B) // name: 34 bytes, SHA-256
		body = append(body, make([]byte, 32)...)
		body = append(body, 0, 34, 0, 0x0B)
		body = append(body, make([]byte, 32)...)
		return response(0x8001, 0, body...)
	}
	f.Add(readPublic(ek))
	f.Add(readPublic(golden(f, goldenECCEK)))
	f.Add(rc(rcHandle1))
	f.Add(rc(rcBadAuthS1))
	f.Add(response(0x8001, 0, 0, 0, 0, 0))
	f.Fuzz(func(t *testing.T, data []byte) {
		f := &fakeTPM{answer: func(cc tpm2.TPMCC, _ []byte) ([]byte, error) {
			if cc == tpm2.TPMCCGetCapability {
				return capResponse(), nil
			}
			return data, nil
		}}
		dev, err := openFakeTPM(f)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		id, err := dev.Identity(t.Context())
		if err != nil {
			var e *Error
			if !errors.As(err, &e) && !errors.As(err, new(tpm2.TPMRC)) {
				t.Logf("unclassified error: %v", err)
			}
			return
		}
		for _, key := range [][]byte{id.EndorsementKey, id.StorageRootKey} {
			pub, err := parsePublic(key)
			if err != nil || storageKeyProblem(pub) != "" {
				t.Fatalf("accepted a key that fails our checks: %v", err)
			}
		}
	})
}
