package tlsca

import (
	"bytes"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
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

// A CA key others can read is refused at start, saying how to fix it, and is not used.
func TestCAKeyReadableByOthersIsRefused(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadOrCreate(dir); err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(dir, KeyFile)
	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadOrCreate(dir)
	if err == nil || !strings.Contains(err.Error(), "readable by others (mode 0644)") || !strings.Contains(err.Error(), "chmod 600 "+key) {
		t.Fatalf("LoadOrCreate with a 0644 key: %v; want a refusal saying chmod 600", err)
	}
	os.Chmod(key, 0o600)
	if _, err := LoadOrCreate(dir); err != nil {
		t.Fatalf("after chmod 600: %v", err)
	}
}
