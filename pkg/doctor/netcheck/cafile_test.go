package netcheck

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/emulator/tlsca"
	"github.com/oobtpm/oob/pkg/doctor"
)

// The emulator's CA, as it writes it, is the real certificate judged here, at several dates.
func TestCAFileJudgedByItsValidity(t *testing.T) {
	dir := t.TempDir()
	if _, err := tlsca.LoadOrCreate(dir); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, tlsca.CertFile)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	notAfter := certNotAfter(t, b)
	for _, tc := range []struct {
		name   string
		b      []byte
		at     time.Time
		status doctor.Status
		says   string
	}{
		{"valid", b, now, doctor.OK, "dps-emulator local CA"},
		{"expired", b, notAfter.Add(time.Hour), doctor.Fail, "expired on"},
		{"expiring soon", b, notAfter.Add(-48 * time.Hour), doctor.Warn, "expires in 2 days"},
		{"not yet valid", b, now.Add(-30 * 24 * time.Hour), doctor.Fail, "valid only from"},
		{"empty", nil, now, doctor.Fail, "it is empty"},
		{"not PEM", []byte("HostName=x"), now, doctor.Fail, "no PEM certificate"},
		{"with its key", append(append([]byte{}, b...), mustRead(t, filepath.Join(dir, "ca-key.pem"))...), now, doctor.Warn, "private key"},
		{"damaged", []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), now, doctor.Fail, "cannot be parsed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := inspectCAFile(tc.b, path, "--ca-file", tc.at)
			if f.Status != tc.status || !strings.Contains(f.Detail, tc.says) {
				t.Fatalf("%s: %s; want %s with %q", f.Status, f.Detail, tc.status, tc.says)
			}
			if f.Status != doctor.OK && f.Fix == "" {
				t.Fatal("no fix given")
			}
		})
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func certNotAfter(t *testing.T, b []byte) time.Time {
	t.Helper()
	block, _ := pem.Decode(b)
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c.NotAfter
}

func FuzzInspectCAFile(f *testing.F) {
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
	f.Add([]byte("-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, b []byte) {
		f := inspectCAFile(b, "ca.pem", "--ca-file", time.Now())
		switch f.Status {
		case doctor.OK, doctor.Warn, doctor.Fail:
		default:
			t.Fatalf("status %q", f.Status)
		}
		if f.Status != doctor.OK && f.Fix == "" {
			t.Fatal("a problem without a fix")
		}
	})
}
