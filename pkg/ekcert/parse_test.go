package ekcert

import (
	"bytes"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"math/big"
	"os"
	"strings"
	"testing"

	"github.com/oobtpm/oob/pkg/identity"
)

func TestParseTCGSubjectAltName(t *testing.T) {
	m := newMaker(t, "STMicro")
	key := rsaKey()
	der := m.issue(t, &key.PublicKey, ekOpts{})
	// What crypto/x509 alone makes of it: the critical SAN left unhandled, so Verify fails.
	plain, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if len(plain.UnhandledCriticalExtensions) != 1 {
		t.Fatalf("crypto/x509 left %v unhandled; the test's certificate is not what makers issue", plain.UnhandledCriticalExtensions)
	}
	c, err := Parse(der)
	if err != nil {
		t.Fatal(err)
	}
	want := TPMInfo{Manufacturer: "id:53544D20", Model: "ST33HTPHAHD4", Firmware: "id:00010102"}
	if c.TPM != want {
		t.Errorf("TPM = %+v, want %+v", c.TPM, want)
	}
	if c.TPM.ManufacturerName() != "STMicroelectronics" || c.TPM.FirmwareVersion() != "1.258" {
		t.Errorf("maker %q firmware %q", c.TPM.ManufacturerName(), c.TPM.FirmwareVersion())
	}
	if len(c.X509.UnhandledCriticalExtensions) != 0 || c.Quirks != nil {
		t.Errorf("unhandled %v, quirks %v", c.X509.UnhandledCriticalExtensions, c.Quirks)
	}
	b := bundleOf(t, m.root, m.inter)
	chain, err := b.Verify(c, nowish)
	if err != nil {
		t.Fatal(err)
	}
	if len(chain) != 3 || !chain[2].Equal(m.root) {
		t.Errorf("chain of %d", len(chain))
	}
	if err := c.MatchEK(identity.StandardEK(key.N.Bytes())); err != nil {
		t.Errorf("MatchEK: %v", err)
	}
}

func TestParseECC(t *testing.T) {
	m := newMaker(t, "Infineon")
	key := newECKey(t)
	c, err := Parse(m.issue(t, &key.PublicKey, ekOpts{manufacturer: "id:49465800", model: "SLB9672", firmware: "id:000F0000"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.TPM.ManufacturerName() != "Infineon" || c.TPM.FirmwareVersion() != "15.0" {
		t.Errorf("%+v", c.TPM)
	}
	if _, err := bundleOf(t, m.root, m.inter).Verify(c, nowish); err != nil {
		t.Fatal(err)
	}
	// An RSA EK is not this certificate's key.
	if err := c.MatchEK(identity.StandardEK(rsaKey().N.Bytes())); !errors.Is(err, ErrKeyMismatch) {
		t.Errorf("MatchEK of another key: %v", err)
	}
}

// STMicro's NV index is larger than its certificate and filled with 0xFF after the DER; others
// put the TCG header first.
func TestParseNVPadding(t *testing.T) {
	m := newMaker(t, "STMicro")
	der := m.issue(t, &rsaKey().PublicKey, ekOpts{})
	padded := append(bytes.Clone(der), bytes.Repeat([]byte{0xff}, 1408-len(der))...)
	header := binary.BigEndian.AppendUint16([]byte{0x10, 0x01, 0x00}, uint16(len(der)))
	for name, nv := range map[string][]byte{"0xFF padding": padded, "TCG header": append(header, der...)} {
		c, err := Parse(nv)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(c.X509.Raw, der) || len(c.Quirks) != 1 {
			t.Errorf("%s: %d bytes, quirks %v", name, len(c.X509.Raw), c.Quirks)
		}
		if _, err := bundleOf(t, m.root, m.inter).Verify(c, nowish); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestParseSerials(t *testing.T) {
	m := newMaker(t, "Nuvoton")
	b := bundleOf(t, m.root, m.inter)
	for name, tc := range map[string]struct {
		octets []byte
		want   *big.Int
		quirk  string
	}{
		"negative (STMicro)":               {[]byte{0x9c, 0x12, 0x34}, big.NewInt(-0x63edcc), "negative serial number"},
		"leading zero (Nuvoton)":           {[]byte{0x00, 0x00, 0x7f, 0x01}, big.NewInt(0x7f01), "serial number not minimally encoded"},
		"leading 0xFF, negative":           {[]byte{0xff, 0x80}, big.NewInt(-128), "serial number not minimally encoded"},
		"20 bytes, top bit set (negative)": {bytes.Repeat([]byte{0xaa}, 20), signedInt(bytes.Repeat([]byte{0xaa}, 20)), "negative serial number"},
	} {
		der := m.issue(t, &rsaKey().PublicKey, ekOpts{serial: tc.octets})
		if _, err := x509.ParseCertificate(der); err == nil {
			t.Fatalf("%s: crypto/x509 parses it; the test's certificate does not have the maker's flaw", name)
		}
		c, err := Parse(der)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if c.X509.SerialNumber.Cmp(tc.want) != 0 || len(c.Quirks) != 1 || c.Quirks[0] != tc.quirk {
			t.Errorf("%s: serial %v quirks %v", name, c.X509.SerialNumber, c.Quirks)
		}
		if !bytes.Equal(c.X509.Raw, der) {
			t.Errorf("%s: Raw is not the certificate as issued", name)
		}
		if _, err := b.Verify(c, nowish); err != nil {
			t.Errorf("%s: the signature over the bytes as issued does not verify: %v", name, err)
		}
	}
}

func TestParseOAEPKey(t *testing.T) {
	m := newMaker(t, "Infineon")
	key := rsaKey()
	der := m.issue(t, &key.PublicKey, ekOpts{oaep: true, manufacturer: "id:49465800", model: "SLB9665", firmware: "id:00050028"})
	if plain, err := x509.ParseCertificate(der); err != nil || plain.PublicKey != nil {
		t.Fatalf("crypto/x509: %v, %T; want a nil key", err, plain.PublicKey)
	}
	c, err := Parse(der)
	if err != nil {
		t.Fatal(err)
	}
	if c.X509.PublicKeyAlgorithm != x509.RSA || !strings.Contains(strings.Join(c.Quirks, ","), "OAEP") {
		t.Errorf("algorithm %v quirks %v", c.X509.PublicKeyAlgorithm, c.Quirks)
	}
	if err := c.MatchEK(identity.StandardEK(key.N.Bytes())); err != nil {
		t.Errorf("MatchEK: %v", err)
	}
	if _, err := bundleOf(t, m.root, m.inter).Verify(c, nowish); err != nil {
		t.Fatal(err)
	}
}

func TestMissingIntermediate(t *testing.T) {
	m := newMaker(t, "Intel")
	c, err := Parse(m.issue(t, &rsaKey().PublicKey, ekOpts{manufacturer: "id:494E5443", model: "PTT", firmware: "id:000B0000"}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = bundleOf(t, m.root).Verify(c, nowish)
	var missing *MissingIssuerError
	if !errors.As(err, &missing) {
		t.Fatalf("Verify: %v; want a MissingIssuerError", err)
	}
	msg := err.Error()
	for _, want := range []string{"Intel EK Intermediate CA 01", "https://pki.example.test/intermediate-01.crt", "upgrades.intel.com", "add it to the folder"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the error does not say %q: %s", want, msg)
		}
	}
	// With the intermediate but not the root: the root is what is missing.
	other := newMaker(t, "Other")
	_, err = bundleOf(t, other.root, m.inter).Verify(c, nowish)
	if !errors.As(err, &missing) || !strings.Contains(missing.Issuer, "Intel EK Root CA") ||
		!strings.Contains(err.Error(), "Intel-root.crt") {
		t.Errorf("Verify without the root: %v", err)
	}
}

func TestParseRefuses(t *testing.T) {
	m := newMaker(t, "X")
	der := m.issue(t, &rsaKey().PublicKey, ekOpts{})
	for name, in := range map[string][]byte{
		"empty":     nil,
		"all 0xFF":  bytes.Repeat([]byte{0xff}, 64),
		"cut short": der[:len(der)-1],
		"too large": append(bytes.Clone(der), make([]byte, MaxSize)...),
		"not DER":   []byte("-----BEGIN CERTIFICATE-----"),
	} {
		if _, err := Parse(in); !errors.Is(err, ErrNotCertificate) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := (&Certificate{X509: &x509.Certificate{PublicKey: &rsaKey().PublicKey}}).MatchEK([]byte{0, 5, 1}); err == nil {
		t.Error("MatchEK took a malformed EK")
	}
}

// The certificate swtpm_setup wrote into a TPM's NV, kept from a real run.
func TestParseSwtpmGolden(t *testing.T) {
	der, err := os.ReadFile("testdata/swtpm-ekcert-rsa.der")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(der)
	if err != nil {
		t.Fatal(err)
	}
	if c.TPM != (TPMInfo{Manufacturer: "id:00001014", Model: "swtpm", Firmware: "id:20191023"}) {
		t.Errorf("%+v", c.TPM)
	}
	if len(c.X509.UnhandledCriticalExtensions) != 0 {
		t.Errorf("unhandled %v", c.X509.UnhandledCriticalExtensions)
	}
}
