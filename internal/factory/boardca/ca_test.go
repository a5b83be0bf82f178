package boardca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const guid = "0b7e2c1a-3f4d-4e5f-8a9b-0c1d2e3f4a5b"

func TestInitWritesPrivateKeysAndRefusesToOverwrite(t *testing.T) {
	for _, kt := range []KeyType{ECDSAP256, RSA3072} {
		t.Run(string(kt), func(t *testing.T) {
			dir := t.TempDir()
			ca, err := Init(dir, "Test Factory", kt, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{KeyFile, RootKeyFile} {
				info, err := os.Stat(filepath.Join(dir, f))
				if err != nil || info.Mode().Perm() != 0o600 {
					t.Errorf("%s: mode %v, %v; want 0600", f, info.Mode().Perm(), err)
				}
			}
			if ca.Intermediate.CheckSignatureFrom(ca.Root) != nil || !ca.Intermediate.MaxPathLenZero {
				t.Error("intermediate is not a path-length-0 CA under the root")
			}
			if kt == RSA3072 {
				if k, ok := ca.Intermediate.PublicKey.(*rsa.PublicKey); !ok || k.N.BitLen() != 3072 {
					t.Errorf("intermediate key %T, want RSA 3072", ca.Intermediate.PublicKey)
				}
			}
			if _, err := Init(dir, "again", kt, time.Now()); !errors.Is(err, ErrExists) {
				t.Errorf("second init: %v, want ErrExists", err)
			}
			loaded, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			if !loaded.Intermediate.Equal(ca.Intermediate) {
				t.Error("Load returned another intermediate")
			}
		})
	}
}

// TestLeafAcceptedByOpenSSL checks the chain as another implementation sees it.
func TestLeafAcceptedByOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	dir := t.TempDir()
	ca, err := Init(dir, "Test Factory", ECDSAP256, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf, err := ca.IssueBoard(guid, k.Public(), time.Now(), 10*365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	leafFile := filepath.Join(dir, "leaf.pem")
	if err := os.WriteFile(leafFile, PEM(leaf), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("openssl", "verify", "-purpose", "sslclient", "-CAfile", filepath.Join(dir, RootCertFile),
		"-untrusted", filepath.Join(dir, CertFile), leafFile).CombinedOutput()
	if err != nil || !strings.Contains(string(out), ": OK") {
		t.Fatalf("openssl verify: %v\n%s", err, out)
	}
	text, err := exec.Command("openssl", "x509", "-in", leafFile, "-noout", "-text").CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	s := string(text)
	if !strings.Contains(s, "Subject: CN = "+guid) {
		t.Errorf("subject is not CN = %s:\n%s", guid, s)
	}
	i := strings.Index(s, "X509v3 Extended Key Usage:")
	if i < 0 {
		t.Fatalf("no extended key usage:\n%s", s)
	}
	eku := strings.TrimSpace(strings.SplitN(s[i:], "\n", 3)[1])
	if eku != "TLS Web Client Authentication" {
		t.Errorf("extended key usage = %q, want TLS Web Client Authentication only", eku)
	}
}

func TestImport(t *testing.T) {
	src := t.TempDir()
	orig, err := Init(src, "Elsewhere", ECDSAP256, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	rootPEM, certPEM := PEM(orig.Root), PEM(orig.Intermediate)
	keyFile := filepath.Join(src, KeyFile)

	t.Run("world-readable key refused", func(t *testing.T) {
		loose := filepath.Join(t.TempDir(), "k.pem")
		b, _ := os.ReadFile(keyFile)
		if err := os.WriteFile(loose, b, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Import(t.TempDir(), rootPEM, certPEM, loose)
		if err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("import with a 0644 key: %v, want advice to chmod 600", err)
		}
	})
	t.Run("wrong key refused", func(t *testing.T) {
		other, _ := Init(t.TempDir(), "Other", ECDSAP256, time.Now())
		_, err := Import(t.TempDir(), rootPEM, PEM(other.Intermediate), keyFile)
		if err == nil {
			t.Error("an intermediate from another root was imported")
		}
	})
	t.Run("imported CA issues", func(t *testing.T) {
		dir := t.TempDir()
		if _, err := Import(dir, rootPEM, certPEM, keyFile); err != nil {
			t.Fatal(err)
		}
		ca, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		leaf, err := ca.IssueBoard(guid, k.Public(), time.Now(), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		pool.AddCert(orig.Root)
		inter := x509.NewCertPool()
		inter.AddCert(orig.Intermediate)
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			t.Errorf("leaf from the imported CA does not verify under the original root: %v", err)
		}
		if _, err := ca.VerificationCertificate("ABC", Root, time.Now()); err == nil {
			t.Error("a root verification certificate was made without the root's key")
		}
	})
}

func TestVerificationCertificate(t *testing.T) {
	ca, err := Init(t.TempDir(), "Test Factory", ECDSAP256, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, which := range []Which{Intermediate, Root} {
		c, err := ca.VerificationCertificate("5F2C0D2A9B", which, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		parent := ca.Intermediate
		if which == Root {
			parent = ca.Root
		}
		if c.Subject.CommonName != "5F2C0D2A9B" || c.CheckSignatureFrom(parent) != nil {
			t.Errorf("%s: CN %q, or not signed by the CA being verified", which, c.Subject.CommonName)
		}
	}
}
