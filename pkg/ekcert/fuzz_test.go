package ekcert

import (
	"bytes"
	"encoding/binary"
	"os"
	"testing"
)

func TestUnwrap(t *testing.T) {
	cert, err := os.ReadFile("testdata/swtpm-ekcert-rsa.der")
	if err != nil {
		t.Fatal(err)
	}
	withHeader := binary.BigEndian.AppendUint16([]byte{0x10, 0x01, 0x00}, uint16(len(cert)))
	withHeader = append(withHeader, cert...)
	for name, in := range map[string][]byte{
		"plain":               cert,
		"padded with 0xff":    append(bytes.Clone(cert), bytes.Repeat([]byte{0xff}, 200)...),
		"padded with zeros":   append(bytes.Clone(cert), make([]byte, 9)...),
		"TCG header":          withHeader,
		"TCG header, padding": append(bytes.Clone(withHeader), 0xff, 0xff),
	} {
		got, err := Unwrap(in)
		if err != nil || !bytes.Equal(got, cert) {
			t.Errorf("%s: %d bytes, %v; want the %d-byte certificate", name, len(got), err, len(cert))
		}
	}
	for name, in := range map[string][]byte{
		"empty":             nil,
		"all 0xff":          bytes.Repeat([]byte{0xff}, 64),
		"cut short":         cert[:len(cert)-1],
		"header overstates": append([]byte{0x10, 0x01, 0x00, 0xff, 0xff}, cert...),
		"indefinite length": {0x30, 0x80, 0, 0},
		"non-minimal":       {0x30, 0x81, 0x05, 1, 2, 3, 4, 5},
	} {
		if _, err := Unwrap(in); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzUnwrap(f *testing.F) {
	f.Add([]byte{0x10, 0x01, 0x00, 0x00, 0x02, 0x30, 0x00})
	f.Add([]byte{0x30, 0x82, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		der, err := Unwrap(b)
		if err != nil {
			return
		}
		if n, err := derLength(der); err != nil || n != len(der) {
			t.Fatalf("result is not exactly one DER SEQUENCE: %d, %v", n, err)
		}
		if !bytes.Contains(b, der) {
			t.Fatalf("result is not part of the input")
		}
	})
}

// FuzzParse feeds EK certificates in every shape the tests make, and mutations of them, to
// Parse: it must never panic, and what it accepts must keep the bytes as issued and have a key.
func FuzzParse(f *testing.F) {
	m := newMaker(f, "Fuzz")
	key := rsaKey()
	if golden, err := os.ReadFile("testdata/swtpm-ekcert-rsa.der"); err == nil {
		f.Add(golden)
	}
	f.Add(m.issue(f, &key.PublicKey, ekOpts{}))
	f.Add(m.issue(f, &newECKey(f).PublicKey, ekOpts{}))
	f.Add(m.issue(f, &key.PublicKey, ekOpts{serial: []byte{0x80, 1}}))
	f.Add(m.issue(f, &key.PublicKey, ekOpts{serial: []byte{0, 1}}))
	f.Add(m.issue(f, &key.PublicKey, ekOpts{oaep: true}))
	f.Add(append(m.issue(f, &key.PublicKey, ekOpts{}), 0xff, 0xff, 0xff))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(b)
		if err != nil {
			return
		}
		if c.X509.PublicKey == nil || !bytes.Contains(b, c.X509.Raw) || !bytes.Contains(c.X509.Raw, c.X509.RawTBSCertificate) {
			t.Fatalf("accepted without a key or with bytes not as issued")
		}
		_ = c.TPM.ManufacturerName()
		_ = c.TPM.FirmwareVersion()
	})
}

func FuzzParseBundleFile(f *testing.F) {
	m := newMaker(f, "Fuzz")
	f.Add(m.root.Raw)
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		certs, err := ParseBundleFile(b)
		if err == nil && len(certs) == 0 {
			t.Fatalf("no certificate and no error")
		}
	})
}

func FuzzMatchEK(f *testing.F) {
	m := newMaker(f, "Fuzz")
	key := rsaKey()
	c, err := Parse(m.issue(f, &key.PublicKey, ekOpts{}))
	if err != nil {
		f.Fatal(err)
	}
	if pub, err := os.ReadFile("../tpm/testdata/swtpm-ek-ecc.pub"); err == nil {
		f.Add(pub)
	}
	f.Add([]byte{0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = c.MatchEK(b)
	})
}
