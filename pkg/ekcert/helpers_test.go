package ekcert

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// nowish is the zero time: Verify checks validity at the current time.
var nowish time.Time

// bundleOf writes certs into a folder, each in its own file (PEM and DER alternating, as makers
// publish both), and loads it.
func bundleOf(t testing.TB, certs ...*x509.Certificate) *Bundle {
	t.Helper()
	dir := t.TempDir()
	for i, c := range certs {
		name := filepath.Join(dir, c.Subject.CommonName)
		data := c.Raw
		if i%2 == 0 {
			name += ".pem"
			data = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
		} else {
			name += ".cer"
		}
		if err := os.WriteFile(name, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := LoadBundle(dir)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
