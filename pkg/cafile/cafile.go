// Package cafile loads a private CA's PEM certificates (the emulator's, or a company's own) into
// a pool that TLS clients trust instead of the system's roots.
package cafile

import (
	"crypto/x509"
	"fmt"
	"os"
)

// Load reads the PEM certificates in path into a new pool. A file without any certificate is an
// error: trusting an empty pool would fail every connection later with a less helpful message.
func Load(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("CA file %s holds no PEM certificate: give the CA's certificate in PEM form", path)
	}
	return pool, nil
}
