package tlsca

import (
	"bytes"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
)

func TestCAPersistsAndServerCertificateNames(t *testing.T) {
	dir := t.TempDir()
	ca1, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	ca2, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ca1.Cert.Raw, ca2.Cert.Raw) {
		t.Fatal("CA changed between starts")
	}
	if fi, err := os.Stat(filepath.Join(dir, KeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("CA key mode: %v %v", fi.Mode(), err)
	}
	cert, err := ca2.ServerCertificate("dps.example.test", "192.0.2.10")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"localhost", "127.0.0.1", "::1", "dps.example.test", "192.0.2.10"} {
		if _, err := cert.Leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: ca1.CertPool()}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := cert.Leaf.Verify(x509.VerifyOptions{DNSName: "elsewhere.test", Roots: ca1.CertPool()}); err == nil {
		t.Error("certificate valid for a name it was not issued for")
	}
	if err := os.WriteFile(filepath.Join(dir, CertFile), []byte("junk"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreate(dir); err == nil {
		t.Fatal("a corrupt ca.pem was accepted")
	}
}
